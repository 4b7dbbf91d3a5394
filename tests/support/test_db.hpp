// The test databases, one fixture per dialect, and a dialect-neutral view over both, so that one
// integration test body runs on PostgreSQL and SQLite.
//
//   TempDb pg;                                        // PostgreSQL (pg_server.hpp): a fresh database
//   SqliteFile lite;                                  // SQLite: a fresh file in a fresh temporary directory
//   SqliteFile app(proj.path("app.db"));              // SQLite: a file a project keeps (not removed)
//   pg.url(), lite.url()                              // what DATABASE_URL / luamig.lua's url take
//   lite.rows("SELECT id, v FROM t")                  // {"1|one", ...}: columns joined by '|', NULL "<null>"
//
//   auto db = luamig::test::TestDb::make(EACH_DIALECT());   // the body runs once per dialect
//   CHECK(db->version_rows() == std::vector<std::string>{"a1"});
//   (BOTH_DIALECTS_DB in cli.hpp and DUAL_FIXTURE in fixture.hpp wrap this.)
//
// TestDb "postgresql" wraps a TempDb; "sqlite" a temporary SqliteFile, addressed as
// sqlite:////abs/path/test.db, removed with the object (unless $LUAMIG_KEEP_TMP is set). Every helper opens a
// short-lived connection per call, so the database is never held open while luamig runs.
#pragma once

#include <catch2/catch.hpp>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace luamig::test {

class TempDb;

// A SQLite database file, opened anew by each call (read-write, created if missing; 10 s busy timeout).
class SqliteFile {
 public:
  // A fresh file test.db in a fresh temporary directory, removed (with the directory) by the destructor.
  SqliteFile();
  // An existing (or future) file, e.g. one a project's luamig.lua names; left in place by the destructor.
  explicit SqliteFile(std::filesystem::path file);
  ~SqliteFile();
  SqliteFile(const SqliteFile&) = delete;
  SqliteFile& operator=(const SqliteFile&) = delete;

  const std::filesystem::path& path() const { return file_; }
  // sqlite:////abs/path
  std::string url() const { return "sqlite:///" + file_.string(); }

  // Every row of `sql` (with `params` bound as text to ?1, ?2...), its columns joined by '|' ("<null>" for
  // NULL, embedded NUL bytes kept). Throws std::runtime_error when the file cannot be opened or the statement
  // fails.
  std::vector<std::string> rows(const std::string& sql, const std::vector<std::string>& params = {}) const;
  // First column of each row as text ("<null>" for NULL).
  std::vector<std::string> query_column(const std::string& sql) const;
  // First column of the first row ("<null>" for NULL); throws std::runtime_error if no row.
  std::string query_value(const std::string& sql) const;
  // Runs SQL (may contain several statements).
  void exec(const std::string& sql) const;

 private:
  std::filesystem::path dir_;  // the temporary directory we own ("" for an existing file)
  std::filesystem::path file_;
};

class TestDb {
 public:
  // dialect: "postgresql" or "sqlite"; anything else throws std::invalid_argument.
  static std::unique_ptr<TestDb> make(const std::string& dialect);
  virtual ~TestDb() = default;

  const std::string& dialect() const { return dialect_; }
  bool is_sqlite() const { return dialect_ == "sqlite"; }
  bool is_postgresql() const { return dialect_ == "postgresql"; }

  virtual std::string url() const = 0;
  // First column of each row as text ("<null>" for NULL). SQLite booleans are 0/1, PostgreSQL's t/f.
  virtual std::vector<std::string> query_column(const std::string& sql) const = 0;
  // First column of the first row ("<null>" for NULL); throws std::runtime_error if no row.
  std::string query_value(const std::string& sql) const;
  // Runs SQL (may contain several statements) outside a transaction block.
  virtual void exec(const std::string& sql) const = 0;

  // An ordinary table in the default schema (public / main).
  virtual bool table_exists(const std::string& name) const = 0;
  // Column names in table order.
  virtual std::vector<std::string> columns(const std::string& table) const = 0;
  // Sorted names of the ordinary tables (SQLite's internal sqlite_* tables and luamig's own luamig_history
  // excluded: check that one with table_exists).
  virtual std::vector<std::string> tables() const = 0;
  // Sorted version_num values; empty if the table does not exist.
  std::vector<std::string> version_rows(const std::string& table = "alembic_version") const;
  // An index of this name exists (in the default schema).
  virtual bool index_exists(const std::string& name) const = 0;
  // Sorted names of table's indexes that were created by name (PostgreSQL's *_pkey/*_key and SQLite's
  // sqlite_autoindex_* excluded).
  virtual std::vector<std::string> named_indexes(const std::string& table) const = 0;

  struct Column {
    std::string name;
    std::string type;  // as the catalog spells it (information_schema.data_type / declared type)
    bool nullable = true;
    std::string default_expr;  // "" when there is none
  };
  virtual std::vector<Column> column_info(const std::string& table) const = 0;
  Column column(const std::string& table, const std::string& name) const;

  // The PostgreSQL database behind this object, or nullptr on SQLite.
  virtual const TempDb* pg() const { return nullptr; }
  // The SQLite file, or "" on PostgreSQL.
  virtual std::string file() const { return ""; }

 protected:
  explicit TestDb(std::string dialect) : dialect_(std::move(dialect)) {}

 private:
  std::string dialect_;
};

}  // namespace luamig::test

// Every dialect the shared integration tests run on, as a Catch2 generator: the test case is entered once per
// name. A new database joins here (and in TestDb::make).
#define EACH_DIALECT() GENERATE(as<std::string>{}, "postgresql", "sqlite")
