// Strict header checks: value types, the line of an assignment, misspelled header names.
#include "scripts/header_check.hpp"

#include <catch2/catch.hpp>

#include "luahost/value.hpp"

using namespace luamig::scripts;
using luamig::luahost::Table;
using luamig::luahost::Value;

namespace {
Value str(const std::string& s) { return Value{s}; }
Value num(double d) { return Value{d}; }
Value list(std::vector<Value> items) {
  auto t = std::make_shared<Table>();
  double i = 1;
  for (auto& v : items) t->emplace_back(num(i++), std::move(v));
  Value v;
  v.v = t;
  return v;
}
}  // namespace

TEST_CASE("header_value_error accepts the shapes Alembic accepts", "[unit][headers]") {
  for (const char* key : {"down_revision", "branch_labels", "depends_on"}) {
    CHECK(header_value_error(key, Value{}) == "");
    CHECK(header_value_error(key, str("a1")) == "");
    CHECK(header_value_error(key, list({})) == "");
    CHECK(header_value_error(key, list({str("a1"), str("b2")})) == "");
  }
  CHECK(header_value_error("revision", str("a1")) == "");
}

TEST_CASE("header_value_error refuses wrong types and says what was found", "[unit][headers]") {
  CHECK(header_value_error("down_revision", num(2222)) ==
        "must be a string, a list of strings or nil (got a number)");
  CHECK(header_value_error("down_revision", Value{true}) ==
        "must be a string, a list of strings or nil (got a boolean)");
  CHECK(header_value_error("down_revision", str("")) ==
        "must be a string, a list of strings or nil (got an empty string)");
  CHECK(header_value_error("down_revision", list({str("x"), num(5)})) ==
        "must be a string, a list of strings or nil (item 2 is a number)");
  CHECK(header_value_error("branch_labels", list({list({})})) ==
        "must be a string, a list of strings or nil (item 1 is a table)");
  CHECK(header_value_error("depends_on", list({str("a"), str("")})) ==
        "must be a string, a list of strings or nil (item 2 is an empty string)");
  auto keyed = std::make_shared<Table>();
  keyed->emplace_back(str("a"), str("a1"));
  Value t;
  t.v = keyed;
  CHECK_THAT(header_value_error("depends_on", t), Catch::Matchers::Contains("key that is not"));
  CHECK(header_value_error("revision", num(5)) == "must be a string (got number)");
  CHECK(header_value_error("revision", Value{}) == "must be a string (got nil)");
  CHECK(header_value_error("revision", str("")) == "must not be empty");
}

TEST_CASE("assignment_line finds top-level assignments only", "[unit][headers]") {
  const char* src =
      "-- down_revision = 'no'\n"
      "local down_revision = 'local'\n"
      "  down_revision = 'indented'\n"
      "x = [[\n"
      "down_revision = 'in a long string'\n"
      "]]\n"
      "if down_revision == 1 then end\n"
      "down_revision = 2222\n";
  CHECK(assignment_line(src, "down_revision") == 8);
  CHECK(assignment_line(src, "x") == 4);
  CHECK(assignment_line(src, "depends_on") == 0);
}

TEST_CASE("edit_distance counts transpositions as one edit", "[unit][headers]") {
  CHECK(edit_distance("down_revision", "down_revision") == 0);
  CHECK(edit_distance("down_revison", "down_revision") == 1);
  CHECK(edit_distance("dwon_revision", "down_revision") == 1);
  CHECK(edit_distance("", "abc") == 3);
  CHECK(edit_distance("kitten", "sitting") == 3);
}

TEST_CASE("misspelled_headers suggests the header meant", "[unit][headers]") {
  auto found = misspelled_headers(
      "revision = 'b2'\n"
      "down_revison = 'a1'\n"
      "Branch_Labels = nil\n"
      "depend_on = {}\n"
      "transactionl = false\n"
      "time_limt = '5s'\n"
      "helper = 1\n"
      "version = 3\n"
      "local down_revisoin = 1\n"
      "down_revision = 'a1'\n");
  REQUIRE(found.size() == 5);
  CHECK(found[0].name == "down_revison");
  CHECK(found[0].line == 2);
  CHECK(found[0].suggestion == "down_revision");
  CHECK(found[1].suggestion == "branch_labels");
  CHECK(found[2].suggestion == "depends_on");
  CHECK(found[3].suggestion == "transactional");
  CHECK(found[4].suggestion == "time_limit");
  CHECK(found[4].line == 6);
}
