// The per-dialect test databases (see test_db.hpp): SqliteFile, and TestDb over TempDb or a SqliteFile.
#include "support/test_db.hpp"

#include <sqlite3.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <stdexcept>

#include "support/pg_server.hpp"
#include "support/text.hpp"

namespace luamig::test {
namespace {

class PgTestDb final : public TestDb {
 public:
  PgTestDb() : TestDb("postgresql") {}
  std::string url() const override { return db_.url(); }
  std::vector<std::string> query_column(const std::string& sql) const override {
    return db_.query_column(sql);
  }
  void exec(const std::string& sql) const override { db_.exec(sql); }
  bool table_exists(const std::string& name) const override { return db_.table_exists(name); }
  std::vector<std::string> columns(const std::string& table) const override { return db_.columns(table); }
  std::vector<std::string> tables() const override { return db_.tables(); }
  bool index_exists(const std::string& name) const override {
    return db_.query_value("SELECT count(*) FROM pg_indexes WHERE schemaname = 'public' AND indexname = " +
                           sql_string(name)) != "0";
  }
  std::vector<std::string> named_indexes(const std::string& table) const override {
    return db_.query_column(
        "SELECT i.indexname FROM pg_indexes i WHERE i.schemaname = 'public' AND i.tablename = " +
        sql_string(table) +
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname "
        "AND c.conrelid = ('public.' || quote_ident(i.tablename))::regclass) ORDER BY 1");
  }
  std::vector<Column> column_info(const std::string& table) const override {
    auto rows = db_.query_column(
        "SELECT column_name || chr(1) || data_type || chr(1) || is_nullable || chr(1) || "
        "coalesce(column_default, '') FROM information_schema.columns WHERE table_schema = 'public' AND "
        "table_name = " +
        sql_string(table) + " ORDER BY ordinal_position");
    return split_rows(rows);
  }
  const TempDb* pg() const override { return &db_; }

  static std::vector<Column> split_rows(const std::vector<std::string>& rows) {
    std::vector<Column> out;
    for (const auto& r : rows) {
      std::vector<std::string> f;
      size_t start = 0;
      for (size_t i = 0; i <= r.size(); ++i)
        if (i == r.size() || r[i] == '\1') f.push_back(r.substr(start, i - start)), start = i + 1;
      f.resize(4);
      out.push_back({f[0], f[1], f[2] == "YES", f[3]});
    }
    return out;
  }

 private:
  TempDb db_;
};

class SqliteTestDb final : public TestDb {
 public:
  SqliteTestDb() : TestDb("sqlite") {}
  std::string url() const override { return file_.url(); }
  std::string file() const override { return file_.path().string(); }

  std::vector<std::string> query_column(const std::string& sql) const override {
    return file_.query_column(sql);
  }
  void exec(const std::string& sql) const override { file_.exec(sql); }
  bool table_exists(const std::string& name) const override {
    return query_value("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = " +
                       sql_string(name)) != "0";
  }
  std::vector<std::string> columns(const std::string& table) const override {
    return query_column("SELECT name FROM pragma_table_info(" + sql_string(table) + ") ORDER BY cid");
  }
  std::vector<std::string> tables() const override {
    return query_column(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' "
        "AND name <> 'luamig_history' ORDER BY name");
  }
  bool index_exists(const std::string& name) const override {
    return query_value("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = " +
                       sql_string(name)) != "0";
  }
  std::vector<std::string> named_indexes(const std::string& table) const override {
    return query_column(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name = " +
        sql_string(table) + " ORDER BY name");
  }
  std::vector<Column> column_info(const std::string& table) const override {
    auto rows = query_column(
        "SELECT name || char(1) || type || char(1) || (CASE WHEN \"notnull\" OR pk > 0 AND "
        "upper(type) = 'INTEGER' THEN 'NO' ELSE 'YES' END) || char(1) || coalesce(dflt_value, '') "
        "FROM pragma_table_info(" +
        sql_string(table) + ") ORDER BY cid");
    return PgTestDb::split_rows(rows);
  }

 private:
  SqliteFile file_;
};

// One short-lived connection.
struct Handle {
  sqlite3* db = nullptr;
  explicit Handle(const std::string& file) {
    if (sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
        SQLITE_OK) {
      std::string err = db ? sqlite3_errmsg(db) : "out of memory";
      sqlite3_close(db);
      throw std::runtime_error("sqlite: cannot open " + file + ": " + err);
    }
    sqlite3_busy_timeout(db, 10000);
  }
  ~Handle() { sqlite3_close(db); }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
};

// Runs `sql` and calls `row` with each result row's statement.
template <typename Row>
void each_row(const std::string& file, const std::string& sql, const std::vector<std::string>& params,
              Row&& row) {
  Handle h(file);
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(h.db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK)
    throw std::runtime_error("sqlite: " + std::string(sqlite3_errmsg(h.db)) + " in: " + sql);
  for (size_t i = 0; i < params.size(); ++i)
    sqlite3_bind_text(st, static_cast<int>(i + 1), params[i].data(), static_cast<int>(params[i].size()),
                      SQLITE_TRANSIENT);
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) row(st);
  std::string err = rc == SQLITE_DONE ? "" : sqlite3_errmsg(h.db);
  sqlite3_finalize(st);
  if (!err.empty()) throw std::runtime_error("sqlite: " + err + " in: " + sql);
}

std::string cell(sqlite3_stmt* st, int i) {
  const unsigned char* t = sqlite3_column_text(st, i);
  return t ? std::string(reinterpret_cast<const char*>(t), static_cast<size_t>(sqlite3_column_bytes(st, i)))
           : std::string("<null>");
}

}  // namespace

SqliteFile::SqliteFile() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "luamig_sqlite_XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  file_ = dir_ / "test.db";
}

SqliteFile::SqliteFile(std::filesystem::path file) : file_(std::move(file)) {}

SqliteFile::~SqliteFile() {
  if (!dir_.empty() && !::getenv("LUAMIG_KEEP_TMP")) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

std::vector<std::string> SqliteFile::rows(const std::string& sql,
                                          const std::vector<std::string>& params) const {
  std::vector<std::string> out;
  each_row(file_.string(), sql, params, [&](sqlite3_stmt* st) {
    std::string row;
    for (int i = 0; i < sqlite3_column_count(st); ++i) {
      if (i) row += "|";
      row += cell(st, i);
    }
    out.push_back(std::move(row));
  });
  return out;
}

std::vector<std::string> SqliteFile::query_column(const std::string& sql) const {
  std::vector<std::string> out;
  each_row(file_.string(), sql, {}, [&](sqlite3_stmt* st) { out.push_back(cell(st, 0)); });
  return out;
}

std::string SqliteFile::query_value(const std::string& sql) const {
  auto col = query_column(sql);
  if (col.empty()) throw std::runtime_error("query returned no row: " + sql);
  return col.front();
}

void SqliteFile::exec(const std::string& sql) const {
  Handle h(file_.string());
  char* msg = nullptr;
  if (sqlite3_exec(h.db, sql.c_str(), nullptr, nullptr, &msg) != SQLITE_OK) {
    std::string err = msg ? msg : "error";
    sqlite3_free(msg);
    throw std::runtime_error("sqlite: " + err + " in: " + sql);
  }
}

std::unique_ptr<TestDb> TestDb::make(const std::string& dialect) {
  if (dialect == "postgresql") return std::make_unique<PgTestDb>();
  if (dialect == "sqlite") return std::make_unique<SqliteTestDb>();
  throw std::invalid_argument("TestDb::make: unknown dialect " + dialect);
}

std::string TestDb::query_value(const std::string& sql) const {
  auto col = query_column(sql);
  if (col.empty()) throw std::runtime_error("query returned no row: " + sql);
  return col.front();
}

std::vector<std::string> TestDb::version_rows(const std::string& table) const {
  if (!table_exists(table)) return {};
  auto rows = query_column("SELECT version_num FROM \"" + table + "\"");
  std::sort(rows.begin(), rows.end());
  return rows;
}

TestDb::Column TestDb::column(const std::string& table, const std::string& name) const {
  for (auto& c : column_info(table))
    if (c.name == name) return c;
  throw std::runtime_error("no column " + name + " in " + table);
}

}  // namespace luamig::test
