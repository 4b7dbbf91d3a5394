// Inputs the random-input tests (fuzz_test.cpp) and the libFuzzer targets (tests/fuzz/) found, kept as
// regression tests of the fixes.
#include <catch2/catch.hpp>
#include <string>

#include "config/url.hpp"
#include "db/statement_shape.hpp"
#include "dialect/inline_params.hpp"
#include "dialect/postgresql.hpp"
#include "importer/py_tokenizer.hpp"
#include "util/duration.hpp"
#include "util/error.hpp"

using Catch::Matchers::Contains;
using luamig::config::parse_url;

TEST_CASE("fuzz findings: a rejected sqlite URL is shown masked", "[unit][url]") {
  for (const std::string url : {"sqlite://u:hunter2@host/db", "sqlite://:memoryx:postgresql://u:pw7@h/db"}) {
    try {
      parse_url(url);
      FAIL("accepted " << url);
    } catch (const luamig::ConfigError& e) {
      CHECK_THAT(e.what(), !Contains("hunter2") && !Contains("pw7"));
      CHECK_THAT(e.what(), Contains("***"));
    }
  }
}

TEST_CASE("fuzz findings: a mistyped URL is not echoed with its password", "[unit][url]") {
  for (const std::string url : {"postgresql:/u:hunter2@h/db", "postgr/u:p@ss@esql://u:p@ss@h/db"}) {
    try {
      parse_url(url);
      FAIL("accepted " << url);
    } catch (const luamig::ConfigError& e) {
      CHECK_THAT(e.what(), !Contains("hunter2") && !Contains("p@ss"));
      CHECK_THAT(e.what(), Contains("not shown"));
    }
  }
  // Without an '@' the text is shown, to say what was wrong with it.
  CHECK_THROWS_WITH(parse_url("host=db oops"), Contains("missing \"=\" after \"oops\""));
}

TEST_CASE("fuzz findings: masked() hides exactly the password the parser read", "[unit][url]") {
  // A user name with a space: the free-text pattern stops at whitespace; the two-character password is too
  // short to be scrubbed as a registered secret.
  auto spaced = parse_url("postgresql://a b:pw@h/db");
  CHECK(spaced.password == "pw");
  CHECK(spaced.masked() == "postgresql://a b:***@h/db");
  auto spaced_pw = parse_url("postgresql://u: w@h/db");
  CHECK(spaced_pw.password == " w");
  CHECK(spaced_pw.masked() == "postgresql://u:***@h/db");
  // libpq's conninfo: '&' is part of an unquoted value (in a URL's query it ends one).
  auto amp = parse_url("password=/se&cret host=x");
  CHECK(amp.password == "/se&cret");
  CHECK(amp.masked() == "password=*** host=x");
  auto query = parse_url("postgresql:///app?user=me&password=a%20b&host=x");
  CHECK(query.password == "a b");
  CHECK(query.masked() == "postgresql:///app?user=me&password=***&host=x");
  // The forms that were right before stay as they were.
  CHECK(parse_url("postgresql://u:p@ss@h/db").masked() == "postgresql://u:***@h/db");
  CHECK(parse_url("host=db password='two words' user=svc").masked() == "host=db password=*** user=svc");
  CHECK(parse_url("postgresql://app@db/app").masked() == "postgresql://app@db/app");
}

TEST_CASE("fuzz findings: a placeholder right after a number is a placeholder for both scanners",
          "[unit][sql]") {
  const luamig::dialect::PostgreSQL pg;
  // PostgreSQL reads `9$1` as the number 9 followed by the parameter $1 (identifiers cannot start with a
  // digit).
  CHECK(luamig::db::statement_shape("SELECT 9$1").max_placeholder == 1);
  CHECK(luamig::dialect::inline_params(pg, "SELECT 9$1", {"x"}).text == "SELECT 9'x'");
  // Inside an identifier `$` is part of the name, never a placeholder.
  CHECK(luamig::db::statement_shape("SELECT a9$1").max_placeholder == 0);
  CHECK(luamig::dialect::inline_params(pg, "SELECT a9$1, $1", {"x"}).text == "SELECT a9$1, 'x'");
}

TEST_CASE("fuzz findings: NULL inlined before an identifier character stays a separate token",
          "[unit][sql]") {
  const luamig::dialect::PostgreSQL pg;
  auto out = luamig::dialect::inline_params(pg, "SELECT $2$$<$1", {"x", std::nullopt}).text;
  CHECK(out == "SELECT NULL $$<$1");
  CHECK(luamig::db::statement_shape(out).max_placeholder == 0);
  CHECK(luamig::dialect::inline_params(pg, "SELECT $1, $1", {std::nullopt}).text == "SELECT NULL, NULL");
}

TEST_CASE("fuzz findings: a malformed \\x escape in Python is a syntax error", "[unit][import]") {
  for (const std::string src : {"x = '\\xZZ'\n", "x = '\\x+1'\n", "x = '\\u12g4'\n"}) {
    INFO(src);
    CHECK_THROWS_AS(luamig::importer::tokenize(src), luamig::importer::SyntaxError);
  }
  CHECK(luamig::importer::tokenize("x = '\\x41'\n")[2].text == "A");
}

TEST_CASE("fuzz findings: durations a clock deadline cannot hold are refused", "[unit][config]") {
  using namespace std::chrono;
  CHECK(luamig::parse_duration("100000h", "t") == hours(100000));
  CHECK_THROWS_WITH(luamig::parse_duration("44444444444s", "t"), Contains("too long"));
  // What is accepted converts to nanoseconds and can be added to a clock reading.
  auto longest = luamig::parse_duration("277777h", "t");
  CHECK(duration_cast<nanoseconds>(longest).count() > 0);
}
