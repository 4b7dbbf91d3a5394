// Offline mode (--sql): the script, run through psql, gives the same schema, data and version table as an
// online upgrade; operations that need a live database fail with a message that says so.
#include <regex>

#include "support/fixture.hpp"

using namespace luamig::test;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {
// Migrations covering the op API, with data that is awkward to quote.
void write_project(const Fixture& f) {
  f.migration("a1", std::nullopt, R"lua(
  op.create_table("users",
    { "uuid", "uuid", primary_key = true, default = op.text("gen_random_uuid()") },
    { "email", "varchar(255)", nullable = false, unique = true, index = true },
    { "role", "varchar(20)", nullable = false, default = "user", index = true, comment = "who's who" },
    { "bio", "text" },
    { "created_at", "timestamptz", nullable = false, default = op.text("now()") },
    { comment = "people" })
  op.create_table("blogs",
    { "id", "bigint", identity = true, primary_key = true },
    { "author_id", "uuid", nullable = false, references = "users(uuid)", ondelete = "CASCADE" },
    { "status", "varchar(20)", nullable = false },
    { "tags", "jsonb", nullable = false, default = op.text("'[]'::jsonb") },
    { "created_at", "timestamptz", nullable = false, default = op.text("now()") })
  op.create_index("ix_blogs_tags_gin", "blogs", { "tags" }, { using = "gin" })
  op.create_index("ix_blogs_status_created", "blogs", { "status", "created_at" })
  op.bulk_insert("users", {
    { uuid = "00000000-0000-0000-0000-000000000001", email = "o'brien@x.com", bio = "back\\slash \"q\" $1 $$ ; --",
      created_at = "2026-01-01 00:00:00+00" },
    { uuid = "00000000-0000-0000-0000-000000000002", email = "tab\t@y.org", bio = "line\nbreak", role = "admin",
      created_at = "2026-01-02 00:00:00+00" },
    { uuid = "00000000-0000-0000-0000-000000000003", email = "null@z", bio = op.NULL,
      created_at = "2026-01-03 00:00:00+00" },
  })
  op.copy_rows("blogs", { "author_id", "status", "tags", "created_at" }, {
    { "00000000-0000-0000-0000-000000000001", "draft", '["a", "b\\\\c"]', "2026-02-01 00:00:00+00" },
    { "00000000-0000-0000-0000-000000000002", "tab\there", "[]", "2026-02-02 00:00:00+00" },
  })
  op.execute("UPDATE users SET bio = bio || $1 WHERE email = $2", " it's", "o'brien@x.com")
)lua",
              R"lua(
  op.drop_table("blogs")
  op.drop_table("users")
)lua",
              "", "initial schema");
  f.migration("b2", "a1", R"lua(
  op.create_index("ix_users_bio", "users", { "bio" }, { concurrently = true })
)lua",
              R"lua(  op.drop_index("ix_users_bio", { concurrently = true }))lua", "transactional = false",
              "concurrent index");
  f.migration("c3", "b2", R"lua(
  op.add_column("users", { "score", "int", default = 0 })
  op.autocommit_block(function()
    op.create_index("ix_users_score", "users", { "score" }, { concurrently = true, where = "score > 0" })
  end)
  op.alter_column("users", "bio", { type = "varchar(500)", comment = "about" })
  op.create_table_comment("blogs", "posts")
  op.create_check_constraint("ck_score", "users", "score >= 0")
)lua",
              R"lua(
  op.drop_constraint("ck_score", "users")
  op.drop_table_comment("blogs")
  op.alter_column("users", "bio", { type = "text", comment = false })
  op.autocommit_block(function() op.drop_index("ix_users_score", { concurrently = true }) end)
  op.drop_column("users", "score")
)lua",
              "", "score");
}

// Offline scripts write no history (README, "History and checksums"): the online run's luamig_history is left
// out of the (normalised, support/pg_server.hpp) dumps.
const Strings kDump = {"--no-owner", "--exclude-table=luamig_history"};

RunResult run_psql(const TempDb& db, const std::string& script_path) {
  return run({pg_tool("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", db.url(), "-f", script_path});
}
}  // namespace

TEST_CASE("offline: upgrade head --sql through psql gives the same schema, data and version table as online",
          "[ops][sql]") {
  Fixture online;
  write_project(online);
  LM_OK(online, {"upgrade", "head"});

  Fixture offline;
  write_project(offline);
  // No connection is made: the URL points at a port where nothing listens.
  offline.proj.write_config("url = \"postgresql://nobody@127.0.0.1:1/nowhere\"");
  auto script = offline.lm({"upgrade", "head", "--sql"});
  INFO(script.describe());
  REQUIRE(script.status == 0);
  CHECK_THAT(script.out,
             StartsWith("CREATE TABLE \"alembic_version\" (\n    version_num VARCHAR(32) NOT NULL,\n"));
  CHECK_THAT(script.out, Contains("-- Running upgrade  -> a1, initial schema\n\nBEGIN;\n"));
  CHECK_THAT(script.out, Contains("INSERT INTO \"alembic_version\" (version_num) VALUES ('a1');\n\nCOMMIT;"));
  // transactional = false: the statement alone, then the version change in its own transaction.
  CHECK_THAT(script.out,
             Contains("-- Running upgrade a1 -> b2, concurrent index\n\nCREATE INDEX CONCURRENTLY "
                      "\"ix_users_bio\" ON \"users\" (\"bio\");\n\nBEGIN;\n\nUPDATE \"alembic_version\" "
                      "SET version_num = 'b2' WHERE version_num = 'a1';\n\nCOMMIT;"));
  // autocommit_block: COMMIT before, BEGIN after.
  CHECK_THAT(script.out, Contains("COMMIT;\n\nCREATE INDEX CONCURRENTLY \"ix_users_score\""));
  CHECK_THAT(script.out, Contains("E'back\\\\slash \"q\" $1 $$ ; --'"));
  CHECK(script.err.empty());

  auto path = offline.proj.write("upgrade.sql", script.out);
  auto applied = run_psql(offline.db, path.string());
  INFO(applied.describe());
  REQUIRE(applied.status == 0);

  CHECK(pg_dump(offline.db, kDump) == pg_dump(online.db, kDump));
  for (const auto* q :
       {"SELECT string_agg(email || '|' || COALESCE(bio, '<null>') || '|' || role || '|' || "
        "created_at::text, E'\\n' ORDER BY email) FROM users",
        "SELECT string_agg(status || '|' || tags::text || '|' || created_at::text, E'\\n' ORDER BY id) "
        "FROM blogs",
        "SELECT string_agg(version_num, ',') FROM alembic_version"}) {
    CHECK(offline.value(q) == online.value(q));
  }
  CHECK(online.value("SELECT bio FROM users WHERE email = 'o''brien@x.com'") ==
        "back\\slash \"q\" $1 $$ ; -- it's");
  CHECK(online.value("SELECT tags ->> 1 FROM blogs WHERE status = 'draft'") == "b\\c");

  // downgrade head:base --sql undoes it all; as Alembic does offline, the version table goes too.
  auto down = offline.lm({"downgrade", "head:base", "--sql"});
  INFO(down.describe());
  REQUIRE(down.status == 0);
  CHECK_THAT(down.out, Contains("-- Running downgrade c3 -> b2, score"));
  auto down_path = offline.proj.write("downgrade.sql", down.out);
  auto undone = run_psql(offline.db, down_path.string());
  INFO(undone.describe());
  REQUIRE(undone.status == 0);
  CHECK(offline.db.tables().empty());
}

TEST_CASE("offline: a range starts from a given revision", "[ops][sql]") {
  Fixture f;
  write_project(f);
  LM_OK(f, {"upgrade", "a1"});
  auto script = f.lm({"upgrade", "a1:head", "--sql"});
  INFO(script.describe());
  REQUIRE(script.status == 0);
  CHECK_THAT(script.out, StartsWith("-- Running upgrade a1 -> b2, concurrent index\n"));
  CHECK(script.out.find("CREATE TABLE \"alembic_version\"") == std::string::npos);
  auto applied = run_psql(f.db, f.proj.write("a1_head.sql", script.out).string());
  INFO(applied.describe());
  REQUIRE(applied.status == 0);
  CHECK(f.db.version_rows() == Strings{"c3"});
  CHECK(f.lm({"current"}).out == "c3\n");

  auto partial = f.lm({"downgrade", "c3:a1", "--sql"});
  REQUIRE(partial.status == 0);
  CHECK_THAT(partial.out,
             Contains("UPDATE \"alembic_version\" SET version_num = 'a1' WHERE version_num = 'b2';"));
  CHECK(partial.out.find("DROP TABLE") == std::string::npos);
}

TEST_CASE("offline: promised errors (no range for downgrade, ranges online, reading data)", "[ops][sql]") {
  Fixture f;
  write_project(f);
  auto r = f.lm({"downgrade", "base", "--sql"});
  CHECK(r.status == 2);
  CHECK_THAT(
      r.err,
      Contains("downgrade --sql needs a range FROM:TO (e.g. `downgrade head:base`): offline mode cannot "
               "read the database's current revision"));
  r = f.lm({"upgrade", "a1:head"});
  CHECK(r.status == 2);
  CHECK_THAT(r.err, Contains("'a1:head': a range FROM:TO is only accepted with --sql"));
  r = f.lm({"upgrade", "head", "--sql", "--dry-run"});
  CHECK(r.status == 2);
  CHECK_THAT(r.err, Contains("--sql and --dry-run exclude each other"));

  f.migration("d4", "c3", R"lua(
  for row in op.query("SELECT email FROM users") do end
)lua",
              "", "", "read users");
  r = f.lm({"upgrade", "head", "--sql"});
  CHECK(r.status == 1);
  CHECK_THAT(
      r.err,
      Contains("ERROR: upgrade of revision d4 (read users) failed; it cannot be written as an SQL script"));
  CHECK_THAT(r.err, Contains("d4_read_users.lua:14"));
  CHECK_THAT(
      r.err,
      Contains("op.query needs a live database to read rows, but --sql (offline) mode only prints SQL"));

  f.migration("d4", "c3", R"lua(
  require("luamig.backfill").update{ table = "users", key = "uuid", set = function() end }
)lua",
              "", "", "read users");
  r = f.lm({"upgrade", "c3:head", "--sql"});
  CHECK(r.status == 1);
  CHECK_THAT(r.err,
             Contains("backfill.update: needs a live database: it reads rows to compute their new values, "
                      "which --sql (offline) mode cannot do"));
  CHECK_THAT(r.err, Contains("d4_read_users.lua:14"));
}
