// Options validated as strings are spliced as the validated string: a value whose __tostring passes the check
// and whose __concat (or a second __tostring) says something else never reaches the SQL.
#include <catch2/catch.hpp>

#include "support/fixture.hpp"

using namespace luamig::test;

namespace {
// A table that prints as an index method and concatenates as an injection.
const char* kTwoFaced = R"LUA(  local evil = setmetatable({}, {
    __tostring = function() return "btree" end,
    __concat = function() return "btree (id); DROP TABLE victim; --" end,
  })
)LUA";
}  // namespace

TEST_CASE("validated options: create_index using and alter_column using splice only what was checked",
          "[ops]") {
  auto dialect = EACH_DIALECT();
  DualFixture f(dialect);
  f.migration("a1a1a1a1", std::nullopt,
              "  op.create_table(\"victim\", { \"id\", \"integer\" })\n"
              "  op.create_table(\"t\", { \"id\", \"integer\" })",
              "");
  SECTION("index method") {
    f.migration(
        "b2b2b2b2", std::string("a1a1a1a1"),
        std::string(kTwoFaced) + "  op.create_index(\"ix_t_id\", \"t\", { \"id\" }, { using = evil })", "");
    auto r = f.lm({"upgrade", "head"});
    INFO(r);
    CHECK(r.status == 1);
    CHECK(r.err.find("op.create_index") != std::string::npos);
    CHECK(r.err.find("DROP TABLE") == std::string::npos);
  }
  SECTION("alter_column using") {
    f.migration(
        "b2b2b2b2", std::string("a1a1a1a1"),
        std::string(kTwoFaced) + "  op.alter_column(\"t\", \"id\", { type = \"bigint\", using = evil })", "");
    auto r = f.lm({"upgrade", "head"});
    INFO(r);
    CHECK(r.status == 1);
    CHECK(r.err.find("using must be SQL text") != std::string::npos);
  }
  CHECK(f.db.query_value("SELECT count(*) FROM victim") == "0");
}
