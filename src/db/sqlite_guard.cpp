#include "db/sqlite_guard.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <string_view>

#include "util/error.hpp"

namespace luamig::db {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

template <size_t N>
bool among(const std::array<std::string_view, N>& list, const std::string& name) {
  return std::find(list.begin(), list.end(), name) != list.end();
}

// Pragmas a migration may run in every form, reading or setting. They touch no file but the database's own
// and no memory the engine bounds. The rebuilds use legacy_alter_table and the table-valued table_info,
// index_list, index_info; migrations use foreign_keys, foreign_key_check, defer_foreign_keys and the catalog
// pragmas.
constexpr std::array<std::string_view, 52> kPragmasAllowed = {
    "analysis_limit",     "application_id",       "auto_vacuum",
    "automatic_index",    "cache_spill",          "case_sensitive_like",
    "cell_size_check",    "checkpoint_fullfsync", "collation_list",
    "compile_options",    "count_changes",        "data_version",
    "database_list",      "defer_foreign_keys",   "empty_result_callbacks",
    "encoding",           "foreign_key_check",    "foreign_key_list",
    "foreign_keys",       "freelist_count",       "full_column_names",
    "fullfsync",          "function_list",        "ignore_check_constraints",
    "incremental_vacuum", "index_info",           "index_list",
    "index_xinfo",        "integrity_check",      "journal_size_limit",
    "legacy_alter_table", "max_page_count",       "module_list",
    "optimize",           "page_count",           "page_size",
    "pragma_list",        "query_only",           "quick_check",
    "read_uncommitted",   "recursive_triggers",   "reverse_unordered_selects",
    "secure_delete",      "short_column_names",   "shrink_memory",
    "synchronous",        "table_info",           "table_list",
    "table_xinfo",        "temp_store",           "user_version",
    "wal_autocheckpoint",
};
// wal_checkpoint is listed apart only to keep the table above rectangular.
constexpr std::array<std::string_view, 1> kPragmasAllowedToo = {"wal_checkpoint"};

// Pragmas a migration may read but not set: setting them maps memory beyond the engine's limit (cache_size,
// mmap_size...), changes how the engine locks and waits (locking_mode, busy_timeout, journal_mode), or
// corrupts the database (schema_version) or lets schema code run unchecked (trusted_schema).
constexpr std::array<std::string_view, 11> kPragmasReadOnly = {
    "busy_timeout",    "cache_size",   "default_cache_size", "hard_heap_limit",
    "journal_mode",    "locking_mode", "mmap_size",          "schema_version",
    "soft_heap_limit", "threads",      "trusted_schema",
};

// SQL functions that reach files, load code or take and reveal raw pointers. Most exist only in SQLite's
// shell; they are refused by name in case a build has them.
constexpr std::array<std::string_view, 10> kFunctionsRefused = {
    "fts3_tokenizer", "load_extension", "readfile",     "writefile",     "edit",
    "fsdir",          "zipfile",        "sqlite_dbptr", "sqlite_dbdata", "sqlite_dbpage",
};

// Virtual tables (eponymous or created) that read or write files or raw database pages.
constexpr std::array<std::string_view, 5> kTablesRefused = {"fsdir", "zipfile", "sqlite_dbptr",
                                                            "sqlite_dbdata", "sqlite_dbpage"};

std::string shown(const char* s) { return s ? fmt::format("'{}'", s) : std::string("an expression"); }

}  // namespace

std::string sqlite_refusal(int action, const char* a1, const char* a2, bool engine_transaction) {
  switch (action) {
    case SQLITE_ATTACH:
      // VACUUM attaches its target this way too: VACUUM INTO 'path' as the path, a plain VACUUM as ''.
      if (a1 && !*a1)
        return "VACUUM (and ATTACH of a temporary database) is refused on SQLite: migrations may not attach "
               "databases";
      return fmt::format(
          "ATTACH DATABASE and VACUUM INTO are refused on SQLite: migrations may not open other "
          "database files (file {})",
          shown(a1));
    case SQLITE_DETACH:
      return "DETACH DATABASE is refused on SQLite: migrations may not attach or detach databases";
    case SQLITE_FUNCTION: {
      std::string name = lower(a2 ? a2 : "");
      if (among(kFunctionsRefused, name))
        return fmt::format(
            "the SQL function {}() is refused on SQLite: it reaches files, loads code or handles raw "
            "pointers",
            name);
      return "";
    }
    case SQLITE_READ:
    case SQLITE_UPDATE:
    case SQLITE_INSERT:
    case SQLITE_DELETE:
    case SQLITE_CREATE_VTABLE:
    case SQLITE_DROP_VTABLE: {
      // READ/UPDATE: a1 is the table; INSERT/DELETE: a1 is the table; CREATE/DROP_VTABLE: a2 is the module.
      std::string name = lower(
          (action == SQLITE_CREATE_VTABLE || action == SQLITE_DROP_VTABLE) ? (a2 ? a2 : "") : (a1 ? a1 : ""));
      if (among(kTablesRefused, name))
        return fmt::format(
            "the virtual table {} is refused on SQLite: it reaches files or raw database pages", name);
      return "";
    }
    case SQLITE_PRAGMA: {
      std::string name = lower(a1 ? a1 : "");
      if (among(kPragmasAllowed, name) || among(kPragmasAllowedToo, name)) return "";
      if (among(kPragmasReadOnly, name)) {
        if (!a2) return "";
        return fmt::format("PRAGMA {} = {} is refused on SQLite: migrations may read this pragma, not set it",
                           name, a2);
      }
      if (name == "writable_schema")
        return "PRAGMA writable_schema is refused on SQLite: it lets SQL corrupt the database";
      if (name == "temp_store_directory" || name == "data_store_directory")
        return fmt::format("PRAGMA {} is refused on SQLite: migrations may not choose directories", name);
      return fmt::format("PRAGMA {} is refused on SQLite: not a pragma migrations may use", name);
    }
    case SQLITE_TRANSACTION:
      if (engine_transaction) return "";
      return fmt::format(
          "{} is refused on SQLite: luamig runs each revision in its own transaction; use "
          "op.transaction(fn) or op.autocommit_block(fn) for transaction control",
          a1 ? a1 : "transaction control");
    default:
      return "";
  }
}

SqliteGuard::SqliteGuard(sqlite3* db) : db_(db) {
  struct Setting {
    int op;
    int value;
    const char* name;
  };
  const Setting settings[] = {
      {SQLITE_DBCONFIG_DEFENSIVE, 1, "SQLITE_DBCONFIG_DEFENSIVE"},
      {SQLITE_DBCONFIG_ENABLE_FTS3_TOKENIZER, 0, "SQLITE_DBCONFIG_ENABLE_FTS3_TOKENIZER"},
      {SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, "SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION"},
  };
  for (const auto& s : settings) {
    int now = -1;
    if (sqlite3_db_config(db, s.op, s.value, &now) != SQLITE_OK || now != s.value)
      throw RunError(fmt::format("cannot harden the SQLite connection: {} refused", s.name));
  }
  // Also turns off the SQL function load_extension(), which the setting above leaves to this call.
  if (sqlite3_enable_load_extension(db, 0) != SQLITE_OK)
    throw RunError("cannot harden the SQLite connection: load_extension cannot be disabled");
  sqlite3_limit(db, SQLITE_LIMIT_ATTACHED, 0);
  if (sqlite3_limit(db, SQLITE_LIMIT_ATTACHED, -1) != 0)
    throw RunError("cannot harden the SQLite connection: SQLITE_LIMIT_ATTACHED cannot be set to 0");
  if (sqlite3_set_authorizer(db, &SqliteGuard::authorize, this) != SQLITE_OK)
    throw RunError("cannot harden the SQLite connection: the authorizer cannot be installed");
}

int SqliteGuard::authorize(void* self, int action, const char* a1, const char* a2, const char*, const char*) {
  auto* g = static_cast<SqliteGuard*>(self);
  std::string why = sqlite_refusal(action, a1, a2, g->engine_transaction_);
  if (why.empty()) return SQLITE_OK;
  return g->refuse(std::move(why));
}

int SqliteGuard::refuse(std::string why) {
  refusal_ = std::move(why);
  return SQLITE_DENY;
}

std::string SqliteGuard::error_message(const char* message) const {
  std::string msg = message ? message : sqlite3_errmsg(db_);
  // A refused function or pragma surfaces as SQLITE_ERROR "not authorized...", a refused ATTACH as
  // SQLITE_AUTH.
  if (!refusal_.empty() &&
      ((sqlite3_extended_errcode(db_) & 0xff) == SQLITE_AUTH || msg.rfind("not authorized", 0) == 0))
    return refusal_;
  return msg;
}

}  // namespace luamig::db
