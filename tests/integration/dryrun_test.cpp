// --dry-run: every step runs for real in one transaction, statements and durations are shown, and nothing is
// left behind; steps that would commit stop the run first.
#include "support/fixture.hpp"

using namespace luamig::test;
using Catch::Matchers::Contains;

namespace {
void write_project(const Fixture& f) {
  f.migration("a1", std::nullopt, R"lua(
  op.create_table("users", { "id", "bigserial", primary_key = true }, { "email", "text" }, { "domain", "text" })
  op.execute("INSERT INTO users (email) SELECT 'u' || g || '@d' || (g % 3) FROM generate_series(1, 2500) g")
)lua",
              R"lua(  op.drop_table("users"))lua", "", "users");
  f.migration("b2", "a1", R"lua(
  require("luamig.backfill").update{ table = "users", batch = 1000, columns = { "email" },
    set = function(row) return { domain = row.email:match("@(.*)$") } end }
  op.bulk_insert("users", { { email = "it's@x" } })
)lua",
              R"lua(  op.execute("UPDATE users SET domain = NULL"))lua", "", "domains");
}
}  // namespace

TEST_CASE("dry run: runs and shows every step, then leaves nothing behind", "[ops][dry-run]") {
  Fixture f;
  write_project(f);
  auto r = f.lm({"upgrade", "head", "--dry-run"});
  INFO(r.describe());
  REQUIRE(r.status == 0);
  CHECK_THAT(r.err, Contains("Dry run: every step runs in one transaction, rolled back at the end."));
  CHECK_THAT(
      r.err,
      Contains("Running upgrade  -> a1, users\n    CREATE TABLE \"users\" (\n        \"id\" bigserial"));
  CHECK_THAT(r.err,
             Contains("    INSERT INTO \"alembic_version\" (version_num) VALUES ('a1');\n    -- a1 ("));
  CHECK_THAT(r.err, Contains("Running upgrade a1 -> b2, domains\n"));
  CHECK_THAT(r.err, Contains("    INSERT INTO \"users\" (\"email\") VALUES ('it''s@x');"));
  CHECK_THAT(r.err, Contains("UPDATE \"users\" AS t SET \"domain\" = s.\"domain\" FROM unnest("));
  CHECK_THAT(r.err,
             Contains("Dry run finished: 2 steps ran; everything was rolled back, nothing was changed."));
  CHECK_THAT(r.err, Contains("backfill users: done, 2,500 rows read, 2,500 updated in 3 batches"));
  // The version table itself was created inside the rolled-back transaction.
  CHECK(f.db.tables().empty());

  // Downgrades too: the database stays where it is.
  LM_OK(f, {"upgrade", "head"});
  r = f.lm({"downgrade", "base", "--dry-run"});
  INFO(r.describe());
  REQUIRE(r.status == 0);
  CHECK_THAT(r.err, Contains("Running downgrade b2 -> a1, domains\n    UPDATE users SET domain = NULL;"));
  CHECK_THAT(r.err, Contains("    DROP TABLE \"users\";"));
  CHECK_THAT(r.err, Contains("Dry run finished: 2 steps ran"));
  CHECK(f.db.version_rows() == Strings{"b2"});
  CHECK(f.value("SELECT count(*) FROM users WHERE domain IS NOT NULL") == "2500");
}

TEST_CASE("dry run: stops before transactional = false and autocommit_block steps, with nothing changed",
          "[ops][dry-run]") {
  Fixture f;
  write_project(f);
  f.migration("c3", "b2", R"lua(  op.execute("CREATE INDEX CONCURRENTLY ix_email ON users (email)"))lua", "",
              "transactional = false", "concurrent");
  auto r = f.lm({"upgrade", "head", "--dry-run"});
  INFO(r.describe());
  CHECK(r.status == 0);
  CHECK_THAT(
      r.err,
      Contains("Dry run stopped before revision c3 (concurrent, migrations/versions/c3_concurrent.lua): "
               "it declares `transactional = false`, so it cannot run inside the dry run's transaction."));
  CHECK_THAT(r.err, Contains("Dry run: 2 of 3 steps ran; everything was rolled back, nothing was changed."));
  CHECK(f.db.tables().empty());

  f.migration("c3", "b2", R"lua(
  op.execute("CREATE TABLE before_block (id int)")
  op.autocommit_block(function() op.execute("CREATE INDEX CONCURRENTLY ix_email ON users (email)") end)
)lua",
              "", "", "concurrent");
  r = f.lm({"upgrade", "head", "--dry-run"});
  INFO(r.describe());
  CHECK(r.status == 0);
  CHECK_THAT(
      r.err,
      Contains("Dry run stopped before revision c3 (concurrent, migrations/versions/c3_concurrent.lua): "
               "it calls op.autocommit_block, which commits the work before it; a dry run cannot commit."));
  CHECK(f.db.tables().empty());

  // A failing step in a dry run is reported, and still nothing is left behind.
  f.migration("c3", "b2", R"lua(  op.execute("SELECT * FROM missing_table"))lua", "", "", "concurrent");
  r = f.lm({"upgrade", "head", "--dry-run"});
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Contains("failed; the dry run stopped and rolled everything back; nothing was changed."));
  CHECK(f.db.tables().empty());
}
