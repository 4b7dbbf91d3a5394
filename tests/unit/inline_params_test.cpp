// Inlining bound parameters as literals (--sql scripts, dry-run listings): only real placeholders are
// replaced.
#include "dialect/inline_params.hpp"

#include <catch2/catch.hpp>

#include "dialect/postgresql.hpp"

using luamig::Param;
using luamig::dialect::inline_params;
using luamig::dialect::script_statement;

namespace {
std::string in(const std::string& sql, const std::vector<Param>& params) {
  return inline_params(luamig::dialect::PostgreSQL(), sql, params).text;
}
}  // namespace

TEST_CASE("inline_params replaces placeholders with quoted literals", "[unit][sql]") {
  CHECK(in("SELECT $1, $2, $10", {"a", std::nullopt, "3", "4", "5", "6", "7", "8", "9", "ten"}) ==
        "SELECT 'a', NULL, 'ten'");
  CHECK(in("x = $1", {"it's"}) == "x = 'it''s'");
  CHECK(in("x = $1", {"back\\slash 'q'"}) == "x = E'back\\\\slash ''q'''");
  CHECK(in("a=$1::int+$1", {"5"}) == "a='5'::int+'5'");
}

TEST_CASE("inline_params leaves quoted text, identifiers, dollar quotes and comments alone", "[unit][sql]") {
  std::vector<Param> p{"v"};
  CHECK(in("SELECT '$1', \"$1\", $1", p) == "SELECT '$1', \"$1\", 'v'");
  CHECK(in("SELECT 'it''s $1', $1", p) == "SELECT 'it''s $1', 'v'");
  CHECK(in("SELECT E'\\' $1', $1", p) == "SELECT E'\\' $1', 'v'");
  CHECK(in("SELECT $$ $1 $$, $body$ it's $1 $body$, $1", p) == "SELECT $$ $1 $$, $body$ it's $1 $body$, 'v'");
  CHECK(in("SELECT 1 -- $1\n, $1 /* $1 /* nested $1 */ $1 */", p) ==
        "SELECT 1 -- $1\n, 'v' /* $1 /* nested $1 */ $1 */");
  CHECK(in("SELECT a$1, $1", p) == "SELECT a$1, 'v'");
  CHECK(in("PREPARE q AS SELECT $1", {}) == "PREPARE q AS SELECT $1");
}

TEST_CASE("inline_params reports a placeholder without a parameter", "[unit][sql]") {
  CHECK_THROWS_WITH(in("SELECT $1, $2", {"a"}), "the statement uses $2 but 1 parameter was given");
  CHECK_THROWS_WITH(in("SELECT $0", {"a"}), "the statement uses $0 but 1 parameter was given");
}

TEST_CASE("script_statement ends every statement with exactly one semicolon", "[unit][sql]") {
  luamig::dialect::PostgreSQL pg;
  CHECK(script_statement(pg, "SELECT 1", {}) == "SELECT 1;");
  CHECK(script_statement(pg, "SELECT 1;\n  ", {}) == "SELECT 1;");
  CHECK(script_statement(pg, "SELECT 1 -- trailing comment", {}) == "SELECT 1 -- trailing comment\n;");
}
