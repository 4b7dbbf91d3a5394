// Which system catalog each database declares (dialect::Dialect::catalog()), and how verify refuses a
// database that declares none: the tools that read a schema ask the dialect, never the database's name.
#include <catch2/catch.hpp>
#include <memory>

#include "db/registry.hpp"
#include "dialect/dialect.hpp"
#include "util/error.hpp"
#include "verify/catalog_snapshot.hpp"

namespace dialect = luamig::dialect;

namespace {
// A database luamig could connect to but whose catalog it does not read.
class NoCatalog : public dialect::Dialect {
 public:
  std::string name() const override { return "frobdb"; }
  std::string quote_ident(std::string_view s) const override { return std::string(s); }
  std::string quote_literal(std::string_view s) const override { return std::string(s); }
  std::string placeholder(int n) const override { return std::string("?").append(std::to_string(n)); }
  std::string table_exists_query() const override { return "SELECT 1"; }
};
}  // namespace

TEST_CASE("every registered database declares a catalog that verify and trace read", "[unit]") {
  for (const auto& db : luamig::db::databases()) {
    INFO(db.name);
    CHECK(db.make_dialect()->catalog() != dialect::Catalog::none);
  }
  CHECK(luamig::db::database("postgresql").make_dialect()->catalog() == dialect::Catalog::pg_catalog);
  CHECK(luamig::db::database("sqlite").make_dialect()->catalog() == dialect::Catalog::sqlite_schema);
}

TEST_CASE("readable_catalog refuses a database without a catalog luamig reads, naming it", "[unit]") {
  NoCatalog none;
  CHECK(none.catalog() == dialect::Catalog::none);  // the default for a new dialect
  try {
    luamig::verify::readable_catalog(none, "verify");
    FAIL("no error");
  } catch (const luamig::UsageError& e) {
    CHECK(std::string(e.what()) ==
          "verify reads the schema from the database's catalog, and luamig reads none of frobdb's");
  }
  auto pg = luamig::db::database("postgresql").make_dialect();
  CHECK(luamig::verify::readable_catalog(*pg, "verify") == dialect::Catalog::pg_catalog);
}
