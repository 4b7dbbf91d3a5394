// A dialect-neutral test database, so one integration test body runs on PostgreSQL and SQLite.
//
//   auto db = luamig::test::TestDb::make(GENERATE(as<std::string>{}, "postgresql", "sqlite"));
//   auto r = luamig::test::luamig({"upgrade", "head"},
//                                 {.cwd = proj.path(), .env = {{"DATABASE_URL", db->url()}}});
//   CHECK(db->version_rows() == std::vector<std::string>{"a1"});
//
// "postgresql" wraps a TempDb (a fresh database on the per-process server, see pg_server.hpp); "sqlite" is a
// file in a fresh temporary directory, addressed as sqlite:////abs/path/test.db, removed with the object
// (unless $LUAMIG_KEEP_TMP is set). Every helper opens a short-lived connection per call, so the database is
// never held open while luamig runs.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace luamig::test {

class TempDb;

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
