// `luamig import-alembic` against Alembic itself: three Alembic projects written in the styles of FastAPI and
// Flask(-Migrate) projects (tests/fixtures/alembic/) are imported; the graph must be Alembic's, and on
// PostgreSQL Alembic's own `upgrade head` and luamig's must leave the same schema (pg_dump -s).
//
// Alembic (the Debian package `alembic`, with python3-psycopg2) must be installed for the comparisons; when
// it is not, those checks are skipped with a warning and only luamig's side is tested.
#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "support/cli.hpp"
#include "support/pg_server.hpp"
#include "support/project.hpp"
#include "support/run.hpp"
#include "support/test_db.hpp"

using namespace luamig::test;
using Catch::Matchers::Contains;
using Strings = std::vector<std::string>;
namespace fs = std::filesystem;

namespace {

fs::path fixture(const std::string& name) {
  return fs::path(LUAMIG_SOURCE_DIR) / "tests/fixtures/alembic" / name;
}

bool have_alembic() {
  static const bool found = [] {
    // The alembic command, and the Python its script runs with Alembic and psycopg2 importable.
    auto r =
        run({"sh", "-c",
             "command -v alembic >/dev/null && "
             "\"$(head -1 \"$(command -v alembic)\" | sed 's/^#! *//')\" -c 'import alembic, psycopg2'"});
    if (r.status != 0)
      WARN(
          "Alembic is not installed (apt-get install alembic python3-psycopg2): skipping the comparisons "
          "with Alembic");
    return r.status == 0;
  }();
  return found;
}

// Runs Alembic in a fixture directory; no __pycache__ is left in the source tree.
RunResult alembic(const std::string& project, const Strings& args, const std::string& url = "") {
  Strings argv{"alembic", "-c", (fixture(project) / "alembic.ini").string()};
  argv.insert(argv.end(), args.begin(), args.end());
  RunOptions o{.cwd = fixture(project).string(), .env = {{"PYTHONDONTWRITEBYTECODE", "1"}}};
  if (!url.empty()) o.env.emplace_back("DATABASE_URL", url);
  return run(argv, o);
}

// history/heads lines without the parenthesised annotations luamig and Alembic render differently (inherited
// branch labels, "(effective head)", depends_on ids), sorted: the edges and messages, independent of the
// order in which a graph with branches is listed.
std::vector<std::string> edges(const std::string& out) {
  std::vector<std::string> lines;
  std::istringstream in(out);
  static const std::regex annotation(R"( \([^()]*\))");
  for (std::string line; std::getline(in, line);) {
    line = std::regex_replace(line, annotation, "");
    if (!line.empty()) lines.push_back(line);
  }
  std::sort(lines.begin(), lines.end());
  return lines;
}

// The revision ids at the start of each line (heads, current).
std::set<std::string> ids(const std::string& out) {
  std::set<std::string> s;
  std::istringstream in(out);
  static const std::regex id(R"(^([0-9a-f]{12})\b)");
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (std::regex_search(line, m, id)) s.insert(m[1]);
  }
  return s;
}

// pg_dump -s, normalised (support/pg_server.hpp); luamig's own history table (luamig_history) is not part of
// the migrated schema.
const Strings kSchemaDump = {"-s", "--no-owner", "-T", "luamig_history*"};

void check_graph_matches_alembic(const TempProject& proj, const std::string& project) {
  auto lh = luamig_in(proj, "", {"history"});
  auto lheads = luamig_in(proj, "", {"heads"});
  REQUIRE(lh.status == 0);
  REQUIRE(lheads.status == 0);
  if (!have_alembic()) return;
  auto ah = alembic(project, {"history"});
  auto aheads = alembic(project, {"heads"});
  INFO(ah.describe() << aheads.describe());
  REQUIRE(ah.status == 0);
  REQUIRE(aheads.status == 0);
  CHECK(edges(lh.out) == edges(ah.out));
  CHECK(ids(lheads.out) == ids(aheads.out));
  CHECK(!ids(lheads.out).empty());
}

// The full round trip for a fixture whose files translate completely.
void round_trip(const std::string& project, size_t revisions) {
  TempProject proj;
  proj.write_config();
  auto r = luamig_in(proj, "", {"import-alembic", (fixture(project) / "versions").string()});
  INFO(r.describe());
  REQUIRE(r.status == 0);
  CHECK_THAT(r.out, Contains(std::to_string(revisions) + " of " + std::to_string(revisions) +
                             " revision files fully translated"));
  CHECK(proj.list("migrations/versions").size() >= revisions);
  check_graph_matches_alembic(proj, project);

  TempDb by_luamig;
  auto up = luamig_in(proj, by_luamig.url(), {"upgrade", "heads"});
  INFO(up.describe());
  REQUIRE(up.status == 0);

  if (have_alembic()) {
    TempDb by_alembic;
    auto aup = alembic(project, {"upgrade", "heads"}, by_alembic.url());
    INFO(aup.describe());
    REQUIRE(aup.status == 0);
    std::string alembic_schema = pg_dump(by_alembic, kSchemaDump);
    CHECK_THAT(alembic_schema, Contains("CREATE TABLE public."));
    CHECK(pg_dump(by_luamig, kSchemaDump) == alembic_schema);
    CHECK(by_luamig.version_rows() == by_alembic.version_rows());
    // luamig reads the version table Alembic wrote.
    auto lcur = luamig_in(proj, by_alembic.url(), {"current"});
    auto acur = alembic(project, {"current"}, by_alembic.url());
    INFO(lcur.describe() << acur.describe());
    REQUIRE(lcur.status == 0);
    REQUIRE(acur.status == 0);
    CHECK(ids(lcur.out) == ids(acur.out));
    CHECK(!ids(lcur.out).empty());
  }

  auto down = luamig_in(proj, by_luamig.url(), {"downgrade", "base"});
  INFO(down.describe());
  REQUIRE(down.status == 0);
  CHECK(by_luamig.tables() == Strings{"alembic_version"});
  CHECK(by_luamig.version_rows().empty());
  CHECK(by_luamig.query_value("SELECT count(*) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
                              "WHERE n.nspname = 'public' AND t.typtype = 'e'") == "0");
  CHECK(by_luamig.query_value("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                              "WHERE n.nspname = 'public' AND c.relname <> 'alembic_version' "
                              "AND c.relname <> 'alembic_version_pkc' "
                              "AND c.relname NOT LIKE 'luamig\\_history%'") == "0");
}

}  // namespace

TEST_CASE("import-alembic: a FastAPI-style project with a labelled branch and a merge gives Alembic's schema",
          "[import]") {
  round_trip("fastapi_shop", 6);
}

TEST_CASE(
    "import-alembic: a Flask-Migrate-style project with batch blocks and a merge gives Alembic's schema",
    "[import]") {
  round_trip("flask_blog", 6);
}

TEST_CASE("import-alembic: untranslatable Python becomes a marked manual part, and the graph stays complete",
          "[import]") {
  TempProject proj;
  proj.write_config();
  auto r = luamig_in(proj, "", {"import-alembic", (fixture("flask_legacy") / "versions").string()});
  INFO(r.describe());
  REQUIRE(r.status == 0);
  CHECK_THAT(r.out, Contains("0 of 3 revision files fully translated"));
  CHECK_THAT(
      r.out,
      Contains("a0000000000a_create_accounts.py -> migrations/versions/a0000000000a_create_accounts.lua"));
  CHECK_THAT(r.out, Contains("line 25 (import of app.models.Account)"));
  CHECK_THAT(r.out, Contains("line 28-29 (for statement)"));
  CHECK_THAT(r.out, Contains("line 25 (call to helper function _backfill_limits())"));
  CHECK_THAT(r.out, Contains("c0000000000c_tenant_schemas.lua: line 20-21 (for statement)\n"));
  check_graph_matches_alembic(proj, "flask_legacy");

  std::string lua = proj.read("migrations/versions/c0000000000c_tenant_schemas.lua");
  CHECK_THAT(lua, Contains("-- |     op.execute(f\"CREATE SCHEMA IF NOT EXISTS tenant_{tenant}\")"));
  CHECK_THAT(lua, Contains("error(\"manual port needed: for statement (line 20)\")"));
  CHECK_THAT(
      lua,
      Contains(
          "  if op.dialect == \"postgresql\" then\n    op.execute(\"DROP SCHEMA IF EXISTS tenant_acme\")\n"
          "    op.execute(\"DROP SCHEMA IF EXISTS tenant_globex\")\n  else\n  end\n"));
  CHECK_THAT(lua, Contains("branch_labels = \"tenants\""));
  CHECK_THAT(lua, Contains("depends_on = \"b0000000000b\""));

  // Running it stops at the first manual part, names the file and line, and leaves the database as it was.
  TempDb db;
  auto up = luamig_in(proj, db.url(), {"upgrade", "a0000000000a"});
  CHECK(up.status != 0);
  CHECK_THAT(up.err, Contains("manual port needed: import of app.models.Account (line 25)"));
  CHECK_THAT(up.err, Contains("a0000000000a_create_accounts.lua"));
  CHECK_FALSE(db.table_exists("account"));
}

TEST_CASE("import-alembic: --dry-run writes nothing, existing files need --force", "[import]") {
  TempProject proj;
  proj.write_config();
  std::string versions = (fixture("fastapi_shop") / "versions").string();
  auto dry = luamig_in(proj, "", {"import-alembic", "--dry-run", versions});
  INFO(dry.describe());
  REQUIRE(dry.status == 0);
  CHECK_THAT(dry.out, Contains("Would write migrations/versions/1a2b3c4d5e6f_create_user_table.lua"));
  CHECK(proj.list("migrations/versions").empty());

  REQUIRE(luamig_in(proj, "", {"import-alembic", versions}).status == 0);
  proj.write("migrations/versions/1a2b3c4d5e6f_create_user_table.lua",
             proj.read("migrations/versions/1a2b3c4d5e6f_create_user_table.lua") + "-- edited\n");
  auto again = luamig_in(proj, "", {"import-alembic", versions});
  CHECK(again.status == 2);
  CHECK_THAT(again.err, Contains("already exist (use --force to overwrite; nothing was written)"));
  CHECK_THAT(again.err, Contains("1a2b3c4d5e6f_create_user_table.lua"));
  CHECK_THAT(proj.read("migrations/versions/1a2b3c4d5e6f_create_user_table.lua"), Contains("-- edited"));

  auto forced = luamig_in(proj, "", {"import-alembic", "--force", versions});
  INFO(forced.describe());
  REQUIRE(forced.status == 0);
  CHECK_THAT(proj.read("migrations/versions/1a2b3c4d5e6f_create_user_table.lua"), !Contains("-- edited"));
}

TEST_CASE("import-alembic: a file that is not a revision is named with its line, and nothing is written",
          "[import]") {
  TempProject proj;
  proj.write_config();
  proj.write("alembic/versions/aaa_first.py", "\"\"\"first\"\"\"\nrevision = 'aaa'\ndown_revision = None\n");
  proj.write("alembic/versions/bbb_broken.py",
             "\"\"\"broken\"\"\"\nrevision = 'bbb'\ndown_revision = make_id()\n");
  proj.write("alembic/versions/ccc_open.py", "x = '''never closed\n");
  auto r = luamig_in(proj, "", {"import-alembic", "alembic/versions"});
  CHECK(r.status == 2);
  CHECK_THAT(r.err, Contains("bbb_broken.py:3: down_revision is not a literal string, tuple or None"));
  CHECK_THAT(r.err, Contains("ccc_open.py:1: unterminated string"));
  CHECK_THAT(r.err, Contains("nothing was written"));
  CHECK(proj.list("migrations/versions").empty());

  auto missing = luamig_in(proj, "", {"import-alembic", "no/such/dir"});
  CHECK(missing.status == 2);
  CHECK_THAT(missing.err, Contains("no/such/dir: not a directory"));
}
