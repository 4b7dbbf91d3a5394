// verify and trace choose their catalog queries by the capability the database's dialect declares: SQLite's
// catalog for --data on a temporary SQLite file, PostgreSQL's lock table for trace (which refuses others).
#include <catch2/catch.hpp>

#include "support/project.hpp"
#include "support/run.hpp"

namespace lt = luamig::test;
using Catch::Matchers::Contains;
using luamig::test::TempProject;

namespace {
void write_people(const TempProject& proj) {
  proj.write_config();
  proj.write_migration("a1", std::nullopt,
                       "  op.create_table(\"people\", { \"id\", op.types.integer, primary_key = true }, "
                       "{ \"name\", op.types.string(20), nullable = false }, "
                       "{ \"born\", op.types.date }, { \"active\", op.types.boolean })",
                       "  op.drop_table(\"people\")", "people");
}
}  // namespace

TEST_CASE("verify --sqlite --data fills SQLite tables from SQLite's catalog", "[verify]") {
  TempProject proj;
  proj.write_config();
  proj.write_migration("a1", std::nullopt,
                       "  op.create_table(\"flags\", { \"id\", op.types.integer, primary_key = true }, "
                       "{ \"name\", op.types.string(20), nullable = false }, "
                       "{ \"on\", op.types.boolean, nullable = false })",
                       "  op.drop_table(\"flags\")", "flags");
  proj.write_migration("b2", "a1",
                       "  op.create_index(\"flags_on\", \"flags\", { \"on\" }, { unique = true })",
                       "  op.drop_index(\"flags_on\")", "unique on");
  auto plain = lt::luamig({"verify", "--sqlite"}, {.cwd = proj.path().string()});
  INFO(plain.describe());
  CHECK(plain.status == 0);  // empty tables hide the problem
  auto r = lt::luamig({"verify", "--sqlite", "--data"}, {.cwd = proj.path().string()});
  INFO(r.describe());
  // The rows generated for a1's table (read from SQLite's catalog, NOT NULL columns filled) repeat the
  // boolean, so b2's unique index fails.
  CHECK(r.status == 1);
  CHECK_THAT(r.out, Contains("ok    a1"));
  CHECK_THAT(r.err, Contains("FAIL  b2") && Contains("UNIQUE constraint failed"));
}

TEST_CASE("trace --url refuses a SQLite database: it reads PostgreSQL's lock table", "[trace]") {
  TempProject proj;
  write_people(proj);
  auto r = lt::luamig({"trace", "--url", "sqlite:///" + (proj.path() / "t.db").string()},
                      {.cwd = proj.path().string()});
  INFO(r.describe());
  CHECK(r.status == 2);
  CHECK_THAT(r.err, Contains("trace reads PostgreSQL's lock table: --url must be a PostgreSQL database"));
  CHECK(!proj.exists("t.db"));
}
