// The rules: one walk over each revision's plan (op records, and the records parsed from its raw SQL), with
// the schema knowledge of the revisions before it.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <regex>
#include <set>

#include "lint/json.hpp"
#include "lint/lint.hpp"
#include "lint/schema.hpp"
#include "lint/silence.hpp"
#include "lint/sql_parse.hpp"
#include "lint/types.hpp"

namespace luamig::lint {
namespace {
using luahost::OpField;
using luahost::OpRecord;

// A record to check: an op call's record, or one parsed from a statement of op.execute.
struct Item {
  OpRecord rec;
  bool from_sql = false;
  bool in_autocommit = false;  // inside op.autocommit_block
  std::string file;
  int line = 0;       // the statement's line (the op call's for op records)
  int call_line = 0;  // the op call's line
  std::string statement;
};

bool truthy(const OpRecord& r, const char* field) { return r.get(field) == "true"; }

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// A type as an op gives it (string, op.text, or a generic type) as SQL text.
std::string type_of(const OpField* f) {
  if (!f) return "";
  if (f->type != OpField::Type::json) return f->text;
  try {
    Json j = parse_json(f->text);
    if (j.is_string()) return j.text;
    if (j["sql"].is_string()) return j["sql"].text;
    std::string g = j["generic"].str();
    if (g == "string") return j["length"].is_null() ? "varchar" : "varchar(" + j["length"].text + ")";
    if (g == "numeric")
      return j["precision"].is_null() ? "numeric"
                                      : "numeric(" + j["precision"].text + "," +
                                            (j["scale"].is_null() ? "0" : j["scale"].text) + ")";
    if (g == "timestamp") return j["timezone"].truthy() ? "timestamptz" : "timestamp";
    if (g == "float") return "float8";
    if (g == "binary") return "bytea";
    return g;
  } catch (const std::exception&) {
    return "";
  }
}

const OpField* field(const OpRecord& r, const char* name) {
  auto it = r.fields.find(name);
  return it == r.fields.end() ? nullptr : &it->second;
}

std::string type_from_json(const Json& t) {
  if (t.is_string()) return t.text;
  if (t["sql"].is_string()) return t["sql"].text;
  std::string g = t["generic"].str();
  if (g == "string") return t["length"].is_null() ? "varchar" : "varchar(" + t["length"].text + ")";
  if (g == "numeric")
    return t["precision"].is_null() ? "numeric"
                                    : "numeric(" + t["precision"].text + "," +
                                          (t["scale"].is_null() ? "0" : t["scale"].text) + ")";
  if (g == "timestamp") return t["timezone"].truthy() ? "timestamptz" : "timestamp";
  return g;
}

// A column spec without options is exported as a list { name, type }: make it an object.
Json column_object(const Json& c) {
  if (!c.is_array()) return c;
  Json o;
  o.type = Json::Type::object;
  if (!c.items.empty()) o.fields["name"] = c.items[0];
  if (c.items.size() > 1) o.fields["type"] = c.items[1];
  return o;
}

const std::set<std::string>& volatile_functions() {
  static const std::set<std::string> fns = {"random",
                                            "gen_random_uuid",
                                            "uuid_generate_v1",
                                            "uuid_generate_v1mc",
                                            "uuid_generate_v4",
                                            "clock_timestamp",
                                            "timeofday",
                                            "nextval",
                                            "txid_current",
                                            "statement_timestamp",
                                            "setseed",
                                            "random_normal",
                                            "gen_random_bytes",
                                            "uuidv4",
                                            "uuidv7"};
  return fns;
}

std::string lua_quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

class Linter {
 public:
  Linter(const Context& ctx, const Options& opts) : ctx_(ctx), opts_(opts) {}

  void revision(const RevisionInput& rev, int index) {
    rev_ = &rev;
    index_ = index;
    auto items = expand(rev);
    bool lock_timeout = ctx_.lock_timeout_configured, utc = false, warned_lock = false;
    const Item* first_exclusive = nullptr;
    const Item* first_backfill = nullptr;
    const Item* first_other_ddl = nullptr;
    bool has_ddl = false, autocommit = !rev.transactional;
    for (const auto& it : items) {
      const auto& r = it.rec;
      const std::string& k = r.kind;
      const std::string table = r.get("table");
      const bool existing = !table.empty() && !schema_.created_in(table, index);
      if (it.in_autocommit) autocommit = true;
      if (k == "autocommit_block") continue;
      if (k == "set") {
        std::string name = r.get("name"), value = lower(r.get("value"));
        if (name == "lock_timeout" && value != "0" && !value.empty()) lock_timeout = true;
        if (name == "timezone" && (value == "utc" || value == "etc/utc" || value == "gmt")) utc = true;
        continue;
      }
      const bool ddl = is_ddl(k);
      has_ddl = has_ddl || ddl;
      const bool concurrent_index = (k == "create_index" || k == "drop_index") && truthy(r, "concurrently");
      if (ddl && !concurrent_index && !it.in_autocommit && !first_other_ddl) first_other_ddl = &it;
      if (takes_exclusive(r) && existing && !it.in_autocommit && rev.transactional) {
        if (!first_exclusive) first_exclusive = &it;
        if (!lock_timeout && !warned_lock) {
          warned_lock = true;
          add(it, "require-lock-timeout",
              fmt::format("{} takes a lock on \"{}\" with no lock_timeout in force", describe(k), table),
              fmt::format(
                  "-- luamig.lua (for this environment): lock_timeout = \"5s\", lock_retries = 3\n"
                  "-- or as the first line of upgrade():\nop.execute(\"SET LOCAL lock_timeout = '5s'\")"),
              table);
        }
      }
      if (k == "dml" && existing && !it.in_autocommit && rev.transactional) {
        std::string verb = r.get("verb");
        if ((verb != "INSERT" || truthy(r, "select")) && !first_backfill) first_backfill = &it;
      }
      check(it, existing, utc);
    }
    // A revision with both: the DDL's lock is held until the backfill commits.
    if (first_exclusive && first_backfill) {
      const auto& b = *first_backfill;
      std::string t = b.rec.get("table");
      add(b, "ddl-with-backfill",
          fmt::format("{} of \"{}\" runs in the same transaction as {} (line {})", b.rec.get("verb"), t,
                      describe(first_exclusive->rec.kind), first_exclusive->line),
          fmt::format(
              "-- revision 1: the schema change only\n-- revision 2, its own file:\ntransactional = false\n"
              "function upgrade()\n  op.execute({})  -- or luamig.backfill(...) in batches\nend",
              lua_quote(b.statement.empty() ? "UPDATE " + t + " SET ..." : b.statement)),
          t);
    }
    if (autocommit && first_other_ddl) {
      const auto& d = *first_other_ddl;
      add(d, "mixed-autocommit-ddl",
          fmt::format("{} runs {} in a revision that also does autocommit work", describe(d.rec.kind),
                      rev.transactional ? "in the revision's transaction" : "without a transaction"),
          "-- move the concurrent index work to a revision of its own:\nfunction upgrade()\n  "
          "op.autocommit_block(function()\n    -- op.create_index(..., { concurrently = true })\n  end)\nend",
          d.rec.get("table"));
    }
    if (has_ddl && (!rev.has_downgrade || rev.downgrade_empty)) {
      Item at;
      at.file = rev.path;
      at.line = downgrade_line_;
      add(at, "missing-downgrade",
          fmt::format("revision {} changes the schema but its downgrade() {}", rev.id,
                      rev.has_downgrade ? "is empty" : "is missing"),
          "function downgrade()\n  -- undo upgrade() in reverse order (op.drop_column, op.drop_index, "
          "...)\nend",
          "");
    }
    if (!rev.incomplete.empty()) {
      Item at;
      at.file = rev.incomplete_file;
      at.line = at.call_line = rev.incomplete_line;
      add(at, "lint-incomplete",
          fmt::format("revision {} stops offline here ({}): the ops after this line were not linted", rev.id,
                      rev.incomplete),
          "-- move the backfill or query to a revision of its own (transactional = false), after the DDL,\n"
          "-- so that the schema changes are linted in full",
          "");
    }
    if (rev.id.size() > 32) {
      Item at;
      at.file = rev.path;
      add(at, "revision-id-too-long",
          fmt::format("revision id '{}' is {} characters long (at most 32)", rev.id, rev.id.size()),
          fmt::format("revision = {}", lua_quote(rev.id.substr(0, 12))), "");
    }
  }

  void set_downgrade_line(int line) { downgrade_line_ = line; }
  std::vector<Finding>& findings() { return findings_; }

 private:
  static bool is_ddl(const std::string& k) {
    static const std::set<std::string> kinds = {"create_table",
                                                "drop_table",
                                                "rename_table",
                                                "add_column",
                                                "drop_column",
                                                "alter_column",
                                                "rename_column",
                                                "create_index",
                                                "drop_index",
                                                "create_primary_key",
                                                "create_unique_constraint",
                                                "create_foreign_key",
                                                "create_check_constraint",
                                                "create_exclusion_constraint",
                                                "drop_constraint",
                                                "alter_table_other",
                                                "validate_constraint"};
    return kinds.count(k) != 0;
  }
  static bool takes_exclusive(const OpRecord& r) {
    static const std::set<std::string> kinds = {"drop_table",
                                                "rename_table",
                                                "add_column",
                                                "drop_column",
                                                "alter_column",
                                                "rename_column",
                                                "create_primary_key",
                                                "create_unique_constraint",
                                                "create_foreign_key",
                                                "create_check_constraint",
                                                "create_exclusion_constraint",
                                                "drop_constraint",
                                                "alter_table_other"};
    return kinds.count(r.kind) != 0;
  }
  static std::string describe(const std::string& k) {
    std::string s = k;
    std::replace(s.begin(), s.end(), '_', ' ');
    return s;
  }

  std::vector<Item> expand(const RevisionInput& rev) {
    std::vector<Item> out;
    std::vector<std::string> lines;
    int autocommit_left = 0;
    for (const auto& r : rev.records) {
      bool inside = autocommit_left > 0;
      if (inside) --autocommit_left;
      if (r.kind == "autocommit_block") {
        autocommit_left += std::max(0, std::atoi(r.get("records", "0").c_str()));
        Item it;
        it.rec = r;
        out.push_back(std::move(it));
        continue;
      }
      if (r.kind == "execute" || r.kind == "query") {
        for (const auto& sql : r.sql) {
          auto parsed = parse_sql(sql);
          int shift = long_bracket_shift(r);
          if (!parsed.error.empty()) {
            Item it;
            it.rec = r;
            it.from_sql = true;
            it.file = r.file;
            it.call_line = r.line;
            it.line = r.line + parsed.error_line + shift;
            it.statement = sql;
            add(it, "sql-syntax-error", fmt::format("PostgreSQL's parser rejects the SQL: {}", parsed.error),
                "-- correct the SQL; `luamig upgrade --sql` prints what the revision would run", "");
            continue;
          }
          for (const auto& st : parsed.statements) {
            for (const auto& rec : st.records) {
              Item it;
              it.rec = rec;
              it.from_sql = true;
              it.in_autocommit = inside;
              it.file = r.file;
              it.call_line = r.line;
              it.line = r.line + st.line_offset + shift;
              it.statement = st.text;
              out.push_back(std::move(it));
            }
          }
        }
        continue;
      }
      Item it;
      it.rec = r;
      it.in_autocommit = inside;
      it.file = r.file;
      it.line = it.call_line = r.line;
      it.statement = r.sql.empty() ? "" : r.sql.front();
      out.push_back(std::move(it));
    }
    return out;
  }

  // op.execute([[<newline>...: Lua drops the newline after [[, so the string's first line is the next one.
  int long_bracket_shift(const OpRecord& r) {
    if (!source_lines_ || r.line < 1 || static_cast<size_t>(r.line) > source_lines_->size()) return 0;
    if (r.file != rev_->path) return 0;
    const std::string& text = (*source_lines_)[static_cast<size_t>(r.line - 1)];
    static const std::regex open(R"(\[=*\[\s*$)");
    return std::regex_search(text, open) ? 1 : 0;
  }

 public:
  const std::vector<std::string>* source_lines_ = nullptr;

 private:
  std::string size_note(const std::string& table) const {
    double rows = rows_of(table);
    return rows < 0 ? "" : fmt::format(" (~{:.0f} rows)", rows);
  }
  double rows_of(const std::string& table) const {
    auto it = ctx_.table_rows.find(table);
    return it == ctx_.table_rows.end() ? -1 : it->second;
  }

  void add(const Item& it, const char* rule, std::string message, std::string alternative,
           const std::string& table, const std::string& column = "",
           std::optional<Severity> severity = std::nullopt) {
    const RuleInfo* info = find_rule(rule);
    Finding f;
    f.rule = rule;
    f.severity = severity.value_or(info->severity);
    if (auto o = opts_.severity.find(rule); o != opts_.severity.end())
      f.severity = o->second;
    else if (!table.empty() && rows_of(table) >= opts_.large_table_rows)
      f.severity = Severity::error;
    f.revision = rev_ ? rev_->id : "";
    f.file = it.file;
    f.line = it.line;
    f.message = std::move(message) + size_note(table);
    f.effect = info->effect;
    f.statement = it.statement;
    f.alternative = std::move(alternative);
    f.table = table;
    f.column = column;
    f.from_sql = it.from_sql;
    if (opts_.disable.count(rule)) f.silenced = "config: disabled in luamig.lua";
    call_lines_.push_back(it.call_line);
    findings_.push_back(std::move(f));
  }

  void check(const Item& it, bool existing, bool utc) {
    const auto& r = it.rec;
    const std::string& k = r.kind;
    const std::string t = r.get("table");
    if (k == "create_table") {
      schema_.create_table(t, index_);
      try {
        for (const auto& c : parse_json(r.get("columns", "[]")).items) {
          Json spec = column_object(c);
          schema_.set_column_type(t, spec["name"].str(), type_from_json(spec["type"]));
        }
      } catch (const std::exception&) {
      }
    } else if (k == "create_index") {
      std::string name = r.get("name", "ix_" + t);
      std::string cols = columns_lua(r.get("columns", "[]"));
      if (truthy(r, "concurrently")) {
        if (!it.in_autocommit && rev_->transactional)
          add(it, "ban-concurrent-index-creation-in-transaction",
              fmt::format("CREATE INDEX CONCURRENTLY {} on \"{}\" inside the revision's transaction", name,
                          t),
              fmt::format(
                  "op.autocommit_block(function()\n  op.create_index({}, {}, {}, {{ {}concurrently = true "
                  "}})\nend)",
                  lua_quote(name), lua_quote(t), cols, truthy(r, "unique") ? "unique = true, " : ""),
              t);
      } else if (existing) {
        add(it, "require-concurrent-index-creation",
            fmt::format(
                "CREATE {}INDEX {} on \"{}\", a table created before this revision, without CONCURRENTLY",
                truthy(r, "unique") ? "UNIQUE " : "", name, t),
            fmt::format(
                "op.autocommit_block(function()\n  op.create_index({}, {}, {}, {{ {}concurrently = true "
                "}})\nend)",
                lua_quote(name), lua_quote(t), cols, truthy(r, "unique") ? "unique = true, " : ""),
            t);
      }
    } else if (k == "drop_index") {
      std::string name = r.get("name");
      if (truthy(r, "concurrently")) {
        if (!it.in_autocommit && rev_->transactional)
          add(it, "ban-concurrent-index-creation-in-transaction",
              fmt::format("DROP INDEX CONCURRENTLY {} inside the revision's transaction", name),
              fmt::format(
                  "op.autocommit_block(function()\n  op.drop_index({}, {{ concurrently = true }})\nend)",
                  lua_quote(name)),
              t);
      } else if (t.empty() || existing) {
        add(it, "require-concurrent-index-deletion", fmt::format("DROP INDEX {} without CONCURRENTLY", name),
            fmt::format(
                "op.autocommit_block(function()\n  op.drop_index({}, {{ concurrently = true }})\nend)",
                lua_quote(name)),
            t);
      }
    } else if (k == "add_column") {
      add_column(it, t, existing);
    } else if (k == "alter_column") {
      alter_column(it, t, existing, utc);
    } else if (k == "rename_column") {
      if (existing) rename_column(it, t, r.get("column"), r.get("new_name"));
      schema_.rename_column(t, r.get("column"), r.get("new_name"));
    } else if (k == "rename_table") {
      std::string to = r.get("new_name");
      if (existing)
        add(it, "renaming-table",
            fmt::format("RENAME TABLE \"{}\" TO \"{}\" while running code uses \"{}\"", t, to, t),
            fmt::format("-- revision 1:\nop.rename_table({0}, {1})\nop.execute(\"CREATE VIEW {2} AS SELECT * "
                        "FROM {3}\")"
                        "  -- the old name keeps working\n-- deploy code that uses \"{3}\"\n-- revision 2:\n"
                        "op.execute(\"DROP VIEW {2}\")",
                        lua_quote(t), lua_quote(to), t, to),
            t);
      schema_.rename_table(t, to);
    } else if (k == "drop_column") {
      std::string c = r.get("column");
      if (existing)
        add(it, "ban-drop-column",
            fmt::format("DROP COLUMN \"{}\".\"{}\" while running code may still use it", t, c),
            fmt::format(
                "-- deploy code that no longer reads or writes {0}.{1} first (Rails: ignored_columns; "
                "SQLAlchemy: remove it from the model), then in a later revision:\nop.drop_column({2}, {3})",
                t, c, lua_quote(t), lua_quote(c)),
            t, c);
    } else if (k == "drop_table") {
      if (existing)
        add(it, "ban-drop-table", fmt::format("DROP TABLE \"{}\" while running code may still use it", t),
            fmt::format(
                "-- deploy code that no longer uses {} first, then in a later revision:\nop.drop_table({})",
                t, lua_quote(t)),
            t);
      schema_.drop_table(t);
    } else if (k == "create_foreign_key") {
      if (existing && !truthy(r, "not_valid")) {
        std::string name = r.get("name", "fk_" + t);
        add(it, "adding-foreign-key-constraint",
            fmt::format("FOREIGN KEY {} on \"{}\" -> \"{}\" is validated while both tables are locked", name,
                        t, r.get("referent")),
            fmt::format(
                "-- revision 1 (instant, no scan):\nop.execute(\"ALTER TABLE {0} ADD CONSTRAINT {1} FOREIGN "
                "KEY ({2}) REFERENCES {3} NOT VALID\")\n-- revision 2 (scans with SHARE UPDATE EXCLUSIVE: "
                "reads and writes go on):\nop.execute(\"ALTER TABLE {0} VALIDATE CONSTRAINT {1}\")",
                t, name, columns_sql(r.get("columns", "[]")), r.get("referent")),
            t);
      }
    } else if (k == "create_check_constraint") {
      std::string name = r.get("name", "ck_" + t), cond = r.get("condition");
      bool valid = !truthy(r, "not_valid");
      if (existing && valid)
        add(it, "constraint-missing-not-valid",
            fmt::format("CHECK {} on \"{}\" is validated under ACCESS EXCLUSIVE", name, t),
            fmt::format("-- revision 1:\nop.create_check_constraint({0}, {1}, {2}, {{ not_valid = true }})\n"
                        "-- revision 2:\nop.execute(\"ALTER TABLE {3} VALIDATE CONSTRAINT {4}\")",
                        lua_quote(name), lua_quote(t), lua_quote(cond), t, name),
            t);
      std::string col = not_null_column(cond);
      if (!col.empty()) {
        if (valid)
          schema_.add_not_null_check(t, col, index_);
        else
          pending_checks_[name] = {t, col};
      }
    } else if (k == "validate_constraint") {
      if (auto p = pending_checks_.find(r.get("name")); p != pending_checks_.end())
        schema_.add_not_null_check(p->second.first, p->second.second, index_);
    } else if (k == "create_unique_constraint" || k == "create_primary_key") {
      if (existing && r.get("using_index").empty()) {
        std::string name = r.get("name", (k == "create_primary_key" ? "pk_" : "uq_") + t);
        std::string what = k == "create_primary_key" ? "PRIMARY KEY" : "UNIQUE";
        add(it, "disallowed-unique-constraint",
            fmt::format("{} constraint {} on \"{}\" builds its index under ACCESS EXCLUSIVE", what, name, t),
            fmt::format(
                "-- revision 1:\ntransactional = false\nfunction upgrade()\n  "
                "op.autocommit_block(function()\n"
                "    op.create_index({0}, {1}, {2}, {{ unique = true, concurrently = true }})\n  end)\nend\n"
                "-- revision 2:\nop.execute(\"ALTER TABLE {3} ADD CONSTRAINT {4} {5} USING INDEX {4}\")",
                lua_quote(name), lua_quote(t), columns_lua(r.get("columns", "[]")), t, name, what),
            t);
      }
    }
  }

  static std::string not_null_column(const std::string& cond) {
    static const std::regex re(R"(^\s*\(?\s*\"?([A-Za-z_][A-Za-z0-9_]*)\"?\s+IS\s+NOT\s+NULL\s*\)?\s*$)",
                               std::regex::icase);
    std::smatch m;
    return std::regex_match(cond, m, re) ? m[1].str() : "";
  }

  static std::string columns_lua(const std::string& json) {
    std::string out = "{ ";
    try {
      bool first = true;
      for (const auto& c : parse_json(json).items) {
        out += (first ? "" : ", ") +
               (c.is_string() ? lua_quote(c.text) : "op.text(" + lua_quote(c["sql"].str()) + ")");
        first = false;
      }
    } catch (const std::exception&) {
    }
    return out + " }";
  }
  static std::string columns_sql(const std::string& json) {
    std::string out;
    try {
      for (const auto& c : parse_json(json).items) out += (out.empty() ? "" : ", ") + c.str();
    } catch (const std::exception&) {
    }
    return out;
  }

  void add_column(const Item& it, const std::string& t, bool existing) {
    Json c;
    try {
      c = column_object(parse_json(it.rec.get("column", "{}")));
    } catch (const std::exception&) {
      return;
    }
    std::string col = c["name"].str(), type = type_from_json(c["type"]);
    schema_.set_column_type(t, col, type);
    if (!existing) return;
    const Json& def = c["default"];
    bool has_default = !def.is_null() && !(def.is_object() && def["null_default"].truthy());
    std::string lt = lower(type);
    bool serial =
        lt == "serial" || lt == "bigserial" || lt == "smallserial" || lt == "serial4" || lt == "serial8";
    bool identity = c["identity"].truthy() || c["autoincrement"].truthy();
    std::vector<std::string> fns;
    std::string def_sql;
    if (def.is_object() && def["sql"].is_string()) {
      def_sql = def["sql"].text;
      if (c["default_functions"].is_string()) {
        std::string list = c["default_functions"].text;
        size_t s = 0;
        while (s < list.size()) {
          size_t e = list.find(',', s);
          fns.push_back(list.substr(s, e == std::string::npos ? std::string::npos : e - s));
          if (e == std::string::npos) break;
          s = e + 1;
        }
      } else {
        fns = functions_called(def_sql);
      }
    }
    std::string volatile_fn;
    for (const auto& f : fns)
      if (volatile_functions().count(f)) volatile_fn = f + "()";
    if (serial) volatile_fn = type + " (nextval())";
    if (identity) volatile_fn = "an identity column";
    if (c["generated"].truthy()) volatile_fn = "a stored generated column";
    if (c["nullable"].is_object() || (c["nullable"].type == Json::Type::boolean && !c["nullable"].boolean)) {
      if (!has_default && !serial && !identity && !c["generated"].truthy() && !c["primary_key"].truthy())
        add(it, "adding-required-field",
            fmt::format("ADD COLUMN \"{}\".\"{}\" NOT NULL without a default: fails when \"{}\" has rows", t,
                        col, t),
            fmt::format(
                "-- revision 1:\nop.add_column({0}, {{ {1}, {2} }})\n-- revision 2 (transactional = false): "
                "backfill {3}.{4} in batches (luamig.backfill)\n-- revision 3:\n"
                "op.create_check_constraint(\"{3}_{4}_not_null\", {0}, \"{4} IS NOT NULL\", {{ not_valid = "
                "true }})\n-- revision 4:\nop.execute(\"ALTER TABLE {3} VALIDATE CONSTRAINT "
                "{3}_{4}_not_null\")\n"
                "op.alter_column({0}, {1}, {{ nullable = false }})\n"
                "op.drop_constraint(\"{3}_{4}_not_null\", {0}, {{ type_ = \"check\" }})\n"
                "-- or, when one value fits every existing row: op.add_column({0}, {{ {1}, {2}, nullable = "
                "false, server_default = \"...\" }})",
                lua_quote(t), lua_quote(col), lua_quote(type), t, col),
            t, col);
    }
    bool old_server = ctx_.server_version < 110000 && has_default;
    if (!volatile_fn.empty() || old_server) {
      std::string what = !volatile_fn.empty()
                             ? volatile_fn
                             : fmt::format("a default on PostgreSQL {}", ctx_.server_version / 10000);
      add(it, "adding-volatile-default",
          fmt::format("ADD COLUMN \"{}\".\"{}\" with {} rewrites the table", t, col, what),
          fmt::format(
              "-- revision 1 (instant):\nop.add_column({0}, {{ {1}, {2} }})\n-- revision 2: a default for "
              "new rows only, then backfill in batches (luamig.backfill, transactional = false):\n"
              "op.alter_column({0}, {1}, {{ server_default = op.text({3}) }})\n"
              "-- revision 3: NOT NULL through a validated CHECK, if wanted",
              lua_quote(t), lua_quote(col), lua_quote(serial ? "bigint" : type),
              lua_quote(def_sql.empty() ? "..." : def_sql)),
          t, col);
    }
    if (c["index"].truthy() || c["unique"].truthy())
      add(it, "require-concurrent-index-creation",
          fmt::format("ADD COLUMN \"{}\".\"{}\" with {} builds an index without CONCURRENTLY", t, col,
                      c["unique"].truthy() ? "unique = true" : "index = true"),
          fmt::format(
              "op.add_column({0}, {{ {1}, {2} }})\n-- then, in a revision of its own:\n"
              "op.autocommit_block(function()\n  op.create_index(\"ix_{3}_{4}\", {0}, {{ {1} }}, {{ {5}"
              "concurrently = true }})\nend)",
              lua_quote(t), lua_quote(col), lua_quote(type), t, col,
              c["unique"].truthy() ? "unique = true, " : ""),
          t, col);
  }

  void alter_column(const Item& it, const std::string& t, bool existing, bool utc) {
    const auto& r = it.rec;
    std::string col = r.get("column");
    if (const OpField* tf = field(r, "type")) {
      std::string to = type_of(tf);
      std::string from = type_of(field(r, "existing_type"));
      if (from.empty()) from = schema_.column_type(t, col);
      bool using_clause = r.has("using");
      if (existing) {
        auto change = classify_type_change(from, to, using_clause);
        std::string tmp = col + "_new";
        std::string expand = fmt::format(
            "-- revision 1 (expand):\nop.add_column({0}, {{ {1}, {2} }})\n"
            "-- deploy code that writes both {3} and {4} (or a trigger)\n"
            "-- revision 2 (backfill, transactional = false):\n"
            "luamig.backfill({{ table = {0}, set = \"{4} = {3}::{5}\" }})  -- in batches\n"
            "-- revision 3 (contract, after code reads {4}):\n"
            "op.drop_column({0}, {6})\nop.alter_column({0}, {1}, {{ new_name = {6} }})",
            lua_quote(t), lua_quote(tmp), lua_quote(to), col, tmp, to, lua_quote(col));
        if (change == TypeChange::rewrite)
          add(it, "changing-column-type",
              fmt::format("ALTER COLUMN \"{}\".\"{}\" TYPE {} -> {} rewrites the table and its indexes", t,
                          col, from, to),
              expand, t, col);
        else if (change == TypeChange::unknown)
          add(it, "changing-column-type",
              fmt::format(
                  "ALTER COLUMN \"{}\".\"{}\" TYPE {}: the old type is not known, so whether it rewrites "
                  "cannot be told (give existing_type)",
                  t, col, to),
              fmt::format("op.alter_column({}, {}, {{ type = {}, existing_type = \"<the current type>\" }})",
                          lua_quote(t), lua_quote(col), lua_quote(to)),
              t, col, Severity::warning);
        else if (change == TypeChange::safe_if_utc && !utc)
          add(it, "changing-column-type",
              fmt::format(
                  "ALTER COLUMN \"{}\".\"{}\" TYPE {} -> {} rewrites unless the session TimeZone is UTC", t,
                  col, from, to),
              fmt::format(
                  "op.execute(\"SET LOCAL TimeZone = 'UTC'\")\nop.alter_column({}, {}, {{ type = {} }})",
                  lua_quote(t), lua_quote(col), lua_quote(to)),
              t, col);
      }
      schema_.set_column_type(t, col, to);
    }
    if (r.get("nullable") == "false" && existing && !schema_.has_validated_not_null(t, col, index_)) {
      std::string ck = t + "_" + col + "_not_null";
      add(it, "setting-not-nullable-field",
          fmt::format("SET NOT NULL on \"{}\".\"{}\" scans the whole table under ACCESS EXCLUSIVE", t, col),
          fmt::format(
              "-- revision 1:\nop.create_check_constraint({0}, {1}, \"{2} IS NOT NULL\", {{ not_valid = true "
              "}})\n-- revision 2:\nop.execute(\"ALTER TABLE {3} VALIDATE CONSTRAINT {4}\")\n"
              "-- revision 3 (PostgreSQL 12+ skips the scan):\nop.alter_column({1}, {5}, {{ nullable = false "
              "}})\nop.drop_constraint({0}, {1}, {{ type_ = \"check\" }})",
              lua_quote(ck), lua_quote(t), col, t, ck, lua_quote(col)),
          t, col);
    }
    if (r.has("new_name")) {
      if (existing) rename_column(it, t, col, r.get("new_name"));
      schema_.rename_column(t, col, r.get("new_name"));
    }
  }

  void rename_column(const Item& it, const std::string& t, const std::string& from, const std::string& to) {
    std::string type = schema_.column_type(t, from);
    add(it, "renaming-column",
        fmt::format("RENAME COLUMN \"{}\".\"{}\" TO \"{}\" while running code uses \"{}\"", t, from, to,
                    from),
        fmt::format("-- revision 1:\nop.add_column({0}, {{ {1}, {2} }})\n-- deploy code that writes both\n"
                    "-- revision 2 (transactional = false): backfill {3} = {4} in batches\n"
                    "-- deploy code that reads {3}\n-- revision 3:\nop.drop_column({0}, {5})",
                    lua_quote(t), lua_quote(to), lua_quote(type.empty() ? "<type of " + from + ">" : type),
                    to, from, lua_quote(from)),
        t, from);
  }

  const Context& ctx_;
  const Options& opts_;
  Schema schema_;
  const RevisionInput* rev_ = nullptr;
  int index_ = 0;
  int downgrade_line_ = 0;
  std::map<std::string, std::pair<std::string, std::string>> pending_checks_;
  std::vector<Finding> findings_;

 public:
  std::vector<int> call_lines_;
};

int downgrade_line(const std::vector<std::string>& lines) {
  for (size_t i = 0; i < lines.size(); ++i)
    if (lines[i].find("function downgrade") != std::string::npos) return static_cast<int>(i + 1);
  return 0;
}
}  // namespace

std::vector<Finding> lint(const std::vector<RevisionInput>& revisions, const Context& context,
                          const Options& options,
                          const std::function<std::string(const std::string&)>& source_of) {
  Linter linter(context, options);
  std::map<std::string, std::vector<std::string>> sources;
  auto lines_of = [&](const std::string& file) -> const std::vector<std::string>& {
    auto it = sources.find(file);
    if (it != sources.end()) return it->second;
    return sources[file] =
               source_of && !file.empty() ? split_lines(source_of(file)) : std::vector<std::string>{};
  };
  for (size_t i = 0; i < revisions.size(); ++i) {
    const auto& rev = revisions[i];
    size_t before = linter.findings().size();
    const auto& lines = lines_of(rev.path);
    linter.source_lines_ = &lines;
    linter.set_downgrade_line(downgrade_line(lines));
    linter.revision(rev, static_cast<int>(i));
    if (!rev.report) {
      linter.findings().resize(before);
      linter.call_lines_.resize(before);
    }
  }
  if (context.heads.size() > 1) {
    Finding f;
    f.rule = "multiple-heads";
    f.severity = options.severity.count(f.rule) ? options.severity.at(f.rule) : Severity::error;
    std::string list;
    for (const auto& h : context.heads) list += (list.empty() ? "" : ", ") + h;
    f.message = fmt::format("the revision graph has {} heads: {}", context.heads.size(), list);
    f.effect = find_rule(f.rule)->effect;
    f.alternative = "luamig merge heads -m \"merge heads\"";
    if (options.disable.count(f.rule)) f.silenced = "config: disabled in luamig.lua";
    linter.findings().push_back(f);
    linter.call_lines_.push_back(0);
  }
  auto& out = linter.findings();
  for (size_t i = 0; i < out.size(); ++i) {
    auto& f = out[i];
    if (!f.silenced.empty() || f.file.empty()) continue;
    const auto& lines = lines_of(f.file);
    auto reason = allowed_by_comment(lines, f.line, f.rule);
    if (!reason && linter.call_lines_[i] && linter.call_lines_[i] != f.line)
      reason = allowed_by_comment(lines, linter.call_lines_[i], f.rule);
    if (reason) f.silenced = "comment: " + (reason->empty() ? std::string("allowed") : *reason);
  }
  if (options.only)
    out.erase(
        std::remove_if(out.begin(), out.end(), [&](const Finding& f) { return f.severity < *options.only; }),
        out.end());
  return std::move(out);
}
}  // namespace luamig::lint
