// The recorded plan through the run loop, in --sql mode (no database): runner::migrate hands each step's plan
// to MigrateOptions::on_plan with the records' kinds, fields, SQL and the migration's file:line.
#include <catch2/catch.hpp>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "runner/migrate.hpp"
#include "runner/project.hpp"
#include "support/engine.hpp"
#include "support/project.hpp"
#include "support/test_db.hpp"

using namespace luamig;
using Catch::Matchers::Contains;
using Catch::Matchers::EndsWith;

TEST_CASE("ops plan: upgrade --sql hands each revision's plan to the caller", "[ops_plan]") {
  auto dialect = EACH_DIALECT();
  INFO(dialect);
  test::TempProject proj;
  proj.write_config();
  // Upgrade bodies start on line 13 of the file (see support/project.hpp).
  auto a1 = proj.write_migration("a1", std::nullopt,
                                 "  op.create_table(\"users\", { \"id\", \"integer\", primary_key = true })\n"
                                 "  op.execute(\"INSERT INTO users (id) VALUES ($1)\", 7)",
                                 "  op.drop_table(\"users\")");
  auto b2 =
      proj.write_migration("b2", "a1", "  op.add_column(\"users\", { \"email\", \"text\", index = true })",
                           "  op.drop_column(\"users\", \"email\")");

  std::vector<std::pair<std::string, luahost::Plan>> plans;
  test::on_big_stack(
      [&] {
        auto project = runner::Project::open(
            test::project_options(proj, dialect == "sqlite" ? "sqlite:///" + proj.path("x.db").string()
                                                            : "postgresql://u@localhost/db"));
        runner::MigrateOptions mo;
        mo.target = "head";
        mo.sql = true;
        mo.on_plan = [&](const graph::Step& step, const luahost::Plan& plan) {
          plans.emplace_back(step.revision->id, plan);
        };
        runner::migrate(project, mo);
      },
      size_t{64} << 20);

  REQUIRE(plans.size() == 2);
  CHECK(plans[0].first == "a1");
  const auto& p1 = plans[0].second.records;
  REQUIRE(p1.size() == 2);
  CHECK(p1[0].kind == "create_table");
  CHECK(p1[0].get("table") == "users");
  CHECK(p1[0].fields.at("columns").text == R"~([{"name":"id","primary_key":true,"type":"integer"}])~");
  CHECK_THAT(p1[0].file, EndsWith(a1));
  CHECK(p1[0].line == 13);
  REQUIRE(p1[0].sql.size() == 1);
  CHECK_THAT(p1[0].sql[0], Contains("CREATE TABLE \"users\""));
  CHECK(p1[1].kind == "execute");
  CHECK(p1[1].line == 14);
  CHECK(p1[1].get("params") == "1");
  CHECK(p1[1].sql == std::vector<std::string>{"INSERT INTO users (id) VALUES ($1)"});

  CHECK(plans[1].first == "b2");
  const auto& p2 = plans[1].second.records;
  REQUIRE(p2.size() == 1);
  CHECK(p2[0].kind == "add_column");
  CHECK_THAT(p2[0].file, EndsWith(b2));
  CHECK(p2[0].line == 13);
  CHECK(p2[0].fields.at("column").text == R"~({"index":true,"name":"email","type":"text"})~");
  CHECK(p2[0].sql == std::vector<std::string>{"ALTER TABLE \"users\" ADD COLUMN \"email\" text",
                                              "CREATE INDEX \"ix_users_email\" ON \"users\" (\"email\")"});
}
