// SQL quoting and the engine's own statements (src/dialect).
#include "dialect/dialect.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "db/registry.hpp"
#include "dialect/postgresql.hpp"
#include "dialect/sqlite.hpp"

using namespace luamig::dialect;

TEST_CASE("quote_doubling wraps and doubles the quote character", "[unit][dialect]") {
  CHECK(quote_doubling("", '"') == "\"\"");
  CHECK(quote_doubling("abc", '"') == "\"abc\"");
  CHECK(quote_doubling("a\"b", '"') == "\"a\"\"b\"");
  CHECK(quote_doubling("\"\"", '"') == "\"\"\"\"\"\"");
  CHECK(quote_doubling("it's", '\'') == "'it''s'");
  CHECK(quote_doubling("a\"b", '\'') == "'a\"b'");  // only the chosen quote doubles
}

TEST_CASE("PostgreSQL identifiers are always quoted", "[unit][dialect]") {
  PostgreSQL pg;
  CHECK(pg.quote_ident("users") == "\"users\"");
  CHECK(pg.quote_ident("Users") == "\"Users\"");    // case is kept
  CHECK(pg.quote_ident("select") == "\"select\"");  // keywords are safe
  CHECK(pg.quote_ident("we\"ird name") == "\"we\"\"ird name\"");
  CHECK(pg.quote_ident("x\"; DROP TABLE t; --") == "\"x\"\"; DROP TABLE t; --\"");
  CHECK(pg.quote_ident("héllo") == "\"héllo\"");
  CHECK(pg.qualify("t", "") == "\"t\"");
  CHECK(pg.qualify("t", "billing") == "\"billing\".\"t\"");
  CHECK(pg.qualify("a.b", "s\"x") == "\"s\"\"x\".\"a.b\"");  // a dot inside a name stays inside the quotes
}

TEST_CASE("PostgreSQL literals survive both settings of standard_conforming_strings", "[unit][dialect]") {
  PostgreSQL pg;
  CHECK(pg.quote_literal("") == "''");
  CHECK(pg.quote_literal("abc") == "'abc'");
  CHECK(pg.quote_literal("it's") == "'it''s'");
  CHECK(pg.quote_literal("'; DROP TABLE x; --") == "'''; DROP TABLE x; --'");
  CHECK(pg.quote_literal("a\"b") == "'a\"b'");
  // A backslash switches to E'' with both quotes and backslashes doubled.
  CHECK(pg.quote_literal("a\\b") == "E'a\\\\b'");
  CHECK(pg.quote_literal("\\'") == "E'\\\\'''");
  CHECK(pg.quote_literal("日本語 ✓") == "'日本語 ✓'");
  CHECK(pg.placeholder(1) == "$1");
  CHECK(pg.placeholder(12) == "$12");
  CHECK(pg.name() == "postgresql");
  CHECK(pg.transactional_ddl());
}

TEST_CASE("SQLite quoting and placeholders", "[unit][dialect]") {
  SQLite lite;
  CHECK(lite.quote_ident("we\"ird") == "\"we\"\"ird\"");
  CHECK(lite.quote_literal("it's") == "'it''s'");
  CHECK(lite.quote_literal("a\\b") == "'a\\b'");  // no escapes in SQLite strings
  CHECK(lite.placeholder(3) == "?3");
  CHECK(lite.begin() == "BEGIN IMMEDIATE");
  CHECK(lite.name() == "sqlite");
}

TEST_CASE("the version table DDL is Alembic's", "[unit][dialect]") {
  PostgreSQL pg;
  CHECK(pg.create_version_table("alembic_version", "") ==
        "CREATE TABLE \"alembic_version\" (\n"
        "    version_num VARCHAR(32) NOT NULL,\n"
        "    CONSTRAINT \"alembic_version_pkc\" PRIMARY KEY (version_num)\n"
        ")");
  CHECK(pg.create_version_table("my versions", "meta") ==
        "CREATE TABLE \"meta\".\"my versions\" (\n"
        "    version_num VARCHAR(32) NOT NULL,\n"
        "    CONSTRAINT \"my versions_pkc\" PRIMARY KEY (version_num)\n"
        ")");
  CHECK_THAT(pg.table_exists_query(), Catch::Matchers::Contains("$1") && Catch::Matchers::Contains("$2"));
  SQLite lite;
  CHECK_THAT(lite.create_version_table("alembic_version", ""),
             Catch::Matchers::Contains("CONSTRAINT \"alembic_version_pkc\" PRIMARY KEY (version_num)"));
}

TEST_CASE("dialect::make", "[unit][dialect]") {
  CHECK(luamig::db::database("postgresql").make_dialect()->name() == "postgresql");
  CHECK(luamig::db::database("sqlite").make_dialect()->name() == "sqlite");
  CHECK_THROWS_AS(luamig::db::database("mysql"), std::logic_error);
}
