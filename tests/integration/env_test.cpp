// Environments, settings precedence, per-transaction timeouts and hooks, on a real PostgreSQL.
//
// Over 600 lines, on purpose: every precedence rule and hook of the environments, side by side.
#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>
#include <map>
#include <sstream>

#include "support/cli.hpp"
#include "support/pg_server.hpp"
#include "support/project.hpp"
#include "support/run.hpp"
#include "support/text.hpp"

using namespace luamig::test;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using Strings = std::vector<std::string>;

namespace {

// One row of `luamig config`: "  key  value  (origin)".
struct Shown {
  std::string value, origin;
  bool found = false;
};

Shown setting(const std::string& out, const std::string& key) {
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string first;
    words >> first;
    if (first != key || line.rfind("  ", 0) != 0) continue;
    Shown s;
    s.found = true;
    auto open = line.rfind("  (");
    auto close = line.rfind(')');
    s.origin = line.substr(open + 3, close - open - 3);
    auto start = line.find(key) + key.size();
    std::string value = line.substr(start, open - start);
    value.erase(0, value.find_first_not_of(' '));
    value.erase(value.find_last_not_of(' ') + 1);
    s.value = value;
    return s;
  }
  return {};
}

}  // namespace

TEST_CASE("env: the environment comes from -e, then LUAMIG_ENV, then default_environment", "[env]") {
  TempDb dev, ci, prod;
  TempProject p;
  write_three_tables(p);
  p.write_config(
      "default_environment = 'development'\n"
      "environments = {\n"
      "  development = { url = " +
      lua_long_string(dev.url()) +
      " },\n"
      "  ci = { url = " +
      lua_long_string(ci.url()) +
      " },\n"
      "  production = { url = " +
      lua_long_string(prod.url()) +
      " },\n"
      "}\n");

  auto r = cli({"upgrade", "a1"}, in_project(p));
  REQUIRE(r.status == 0);
  CHECK(first_line(r.err) == "Environment development, database " + dev.url());
  CHECK(dev.version_rows() == Strings{"a1"});

  r = cli({"upgrade", "b2"}, in_project(p, {{"LUAMIG_ENV", "ci"}}));
  REQUIRE(r.status == 0);
  CHECK(first_line(r.err) == "Environment ci, database " + ci.url());
  CHECK(ci.version_rows() == Strings{"b2"});

  // The flag beats the variable.
  r = cli({"-e", "production", "upgrade", "head"}, in_project(p, {{"LUAMIG_ENV", "ci"}}));
  REQUIRE(r.status == 0);
  CHECK(first_line(r.err) == "Environment production, database " + prod.url());
  CHECK(prod.version_rows() == Strings{"c3"});
  CHECK(dev.version_rows() == Strings{"a1"});
  CHECK(ci.version_rows() == Strings{"b2"});

  // --env after the verb, current -v and stamp say where they act too; -q silences the line.
  r = cli({"current", "-v", "--env", "ci"}, in_project(p));
  REQUIRE(r.status == 0);
  CHECK(first_line(r.err) == "Environment ci, database " + ci.url());
  r = cli({"stamp", "c3", "-e", "ci"}, in_project(p));
  REQUIRE(r.status == 0);
  CHECK(first_line(r.err) == "Environment ci, database " + ci.url());
  CHECK(ci.version_rows() == Strings{"c3"});
  r = cli({"-q", "downgrade", "base"}, in_project(p));
  REQUIRE(r.status == 0);
  CHECK(r.out.empty());
  CHECK(dev.version_rows().empty());

  // Environments without a default and no selection: commands that need a database refuse.
  p.write_config("environments = { ci = { url = " + lua_long_string(ci.url()) +
                 " }, production = { url = " + lua_long_string(prod.url()) + " } }\n");
  r = cli({"current"}, in_project(p));
  CHECK(r.status == 2);
  CHECK_THAT(r.err, Contains("no environment selected") && Contains("known: ci, production"));
  CHECK(cli({"heads"}, in_project(p)).status == 0);  // the graph alone needs no environment

  // No environments at all: the built-in "default" and $DATABASE_URL.
  p.write_config("");
  r = cli({"upgrade", "a1"}, in_project(p, {{"DATABASE_URL", dev.url()}}));
  REQUIRE(r.status == 0);
  CHECK(first_line(r.err) == "Environment default, database " + dev.url());
  CHECK(dev.version_rows() == Strings{"a1"});
}

TEST_CASE("env: the database line masks the password", "[env]") {
  TempDb db;
  db.exec("CREATE ROLE envpw LOGIN PASSWORD 'hunter2secret' SUPERUSER");
  std::string url = db.url();
  auto at = url.find("postgres@");
  REQUIRE(at != std::string::npos);
  std::string with_pw = url.substr(0, at) + "envpw:hunter2secret@" + url.substr(at + 9);
  TempProject p;
  write_three_tables(p);
  p.write_config("environments = { production = { url = " + lua_long_string(with_pw) +
                 " } }\n"
                 "default_environment = 'production'\n");
  auto r = cli({"upgrade", "head"}, in_project(p));
  db.exec("DROP OWNED BY envpw");
  REQUIRE(r.status == 0);
  // The start line names the resolved target, which never holds a password.
  CHECK_THAT(first_line(r.err), StartsWith("Environment production, database postgresql://envpw@"));
  auto cfg = cli({"config"}, in_project(p));
  CHECK(cfg.status == 0);
  CHECK_THAT(setting(cfg.out, "url").value, Contains("envpw:***@"));
  CHECK_THAT(r.all() + cfg.all(), !Contains("hunter2secret"));
}

TEST_CASE("env: an unknown environment is an error listing the known ones", "[env]") {
  TempProject p;
  write_three_tables(p);
  p.write_config(
      "default_environment = 'development'\n"
      "environments = { development = { url = 'postgresql://x@127.0.0.1:1/x' }, production = {} }\n");
  auto r = cli({"-e", "staging", "upgrade", "head"}, in_project(p));
  CHECK(r.status == 2);
  CHECK_THAT(r.err, Contains("unknown environment 'staging'") && Contains("-e/--env") &&
                        Contains("known: development, production"));
  r = cli({"config"}, in_project(p, {{"LUAMIG_ENV", "qa"}}));
  CHECK(r.status == 2);
  CHECK_THAT(r.err, Contains("unknown environment 'qa'") && Contains("$LUAMIG_ENV"));

  p.write_config("default_environment = 'prod'\nenvironments = { production = {} }\n");
  r = cli({"config"}, in_project(p));
  CHECK(r.status == 2);
  CHECK_THAT(r.err, Contains("default_environment 'prod' is not defined") && Contains("known: production"));

  p.write_config("");
  r = cli({"-e", "production", "config"}, in_project(p));
  CHECK(r.status == 2);
  CHECK_THAT(r.err, Contains("unknown environment 'production'") && Contains("defines no environments"));
  CHECK(cli({"-e", "default", "config"}, in_project(p)).status == 0);
}

TEST_CASE("env: unknown or misplaced keys in an environment block are errors", "[env]") {
  TempProject p;
  write_three_tables(p);
  p.write_config("environments = { production = { url = 'postgresql://h/db', lock_timout = '5s' } }\n");
  auto r = cli({"-e", "production", "config"}, in_project(p));
  CHECK(r.status == 2);
  CHECK_THAT(r.err, Contains("luamig.lua") && Contains("environment 'production'") &&
                        Contains("unknown setting 'lock_timout'") && Contains("lock_timeout"));
  // Even a command that needs no database reads the whole file.
  CHECK(cli({"heads"}, in_project(p)).status == 2);

  p.write_config("environments = { production = { script_location = 'elsewhere' } }\n");
  r = cli({"-e", "production", "config"}, in_project(p));
  CHECK(r.status == 2);
  CHECK_THAT(r.err, Contains("environment 'production'") &&
                        Contains("'script_location' can only be set at the top"));

  p.write_config("environments = { production = { statement_timeout = true } }\n");
  r = cli({"-e", "production", "config"}, in_project(p));
  CHECK(r.status == 2);
  CHECK_THAT(r.err,
             Contains("environment 'production'") && Contains("statement_timeout") && Contains("duration"));

  p.write_config("environments = { production = { lock_timeout = '5 parsecs' } }\n");
  r = cli({"-e", "production", "config"}, in_project(p));
  CHECK(r.status == 2);
  CHECK_THAT(r.err, Contains("environment 'production'") && Contains("lock_timeout") && Contains("parsecs"));

  p.write_config("environments = { production = 'postgresql://h/db' }\n");
  r = cli({"-e", "production", "config"}, in_project(p));
  CHECK(r.status == 2);
  CHECK_THAT(r.err, Contains("environment 'production' must be a table"));

  p.write_config("");
  r = cli({"config", "--set", "allow_downgrade=perhaps"}, in_project(p));
  CHECK(r.status == 2);
  CHECK_THAT(r.err, Contains("--set allow_downgrade") && Contains("'perhaps' is not true or false"));
}

TEST_CASE("env: every setting resolves command line > environment > top level > built-in default", "[env]") {
  TempProject p;
  write_three_tables(p);
  p.write("migrations/hooks/top.lua", "");
  p.write("migrations/hooks/env.lua", "");
  p.write("migrations/hooks/cli.lua", "");
  // Top-level values for every key, environment values for every key allowed there.
  p.write_config(
      "url = 'postgresql://top@h/top'\n"
      "version_table = 'vt_top'\n"
      "version_table_schema = 'top_schema'\n"
      "transaction_per_migration = true\n"
      "hooks = 'hooks/top.lua'\n"
      "lock_timeout = '1s'\n"
      "statement_timeout = '1min'\n"
      "allow_downgrade = true\n"
      "lua_time_limit = '11s'\n"
      "lua_memory_limit = '100MiB'\n"
      "wait_for_db = '1s'\nmigration_lock_timeout = '1min'\nlock_retries = 1\nlock_retry_delay = '100ms'\n"
      "environments = {\n"
      "  bare = {},\n"
      "  production = {\n"
      "    url = 'postgresql://env@h/env', version_table = 'vt_env', version_table_schema = 'env_schema',\n"
      "    transaction_per_migration = false, hooks = { 'hooks/top.lua', 'hooks/env.lua' },\n"
      "    lock_timeout = '5s', statement_timeout = '10min', allow_downgrade = false,\n"
      "    lua_time_limit = 22, lua_memory_limit = '200MiB',\n"
      "    wait_for_db = '2s', migration_lock_timeout = '2min', lock_retries = 2, lock_retry_delay = "
      "'200ms',\n"
      "  },\n"
      "}\n");
  const std::string env_origin = "environment 'production' in luamig.lua";
  const std::string top_origin = "top level of luamig.lua";
  const std::map<std::string, std::string> env_values = {{"url", "postgresql://env@h/env"},
                                                         {"version_table", "vt_env"},
                                                         {"version_table_schema", "env_schema"},
                                                         {"transaction_per_migration", "false"},
                                                         {"hooks", "hooks/top.lua, hooks/env.lua"},
                                                         {"lock_timeout", "5s"},
                                                         {"statement_timeout", "10min"},
                                                         {"allow_downgrade", "false"},
                                                         {"lua_time_limit", "22s"},
                                                         {"lua_memory_limit", "200MiB"},
                                                         {"wait_for_db", "2s"},
                                                         {"migration_lock_timeout", "2min"},
                                                         {"lock_retries", "2"},
                                                         {"lock_retry_delay", "200ms"}};
  const std::map<std::string, std::string> top_values = {{"url", "postgresql://top@h/top"},
                                                         {"version_table", "vt_top"},
                                                         {"version_table_schema", "top_schema"},
                                                         {"transaction_per_migration", "true"},
                                                         {"hooks", "hooks/top.lua"},
                                                         {"lock_timeout", "1s"},
                                                         {"statement_timeout", "1min"},
                                                         {"allow_downgrade", "true"},
                                                         {"lua_time_limit", "11s"},
                                                         {"lua_memory_limit", "100MiB"},
                                                         {"wait_for_db", "1s"},
                                                         {"migration_lock_timeout", "1min"},
                                                         {"lock_retries", "1"},
                                                         {"lock_retry_delay", "100ms"},
                                                         {"script_location", "migrations"}};
  const std::map<std::string, std::string> cli_values = {{"version_table", "vt_cli"},
                                                         {"version_table_schema", "cli_schema"},
                                                         {"transaction_per_migration", "true"},
                                                         {"hooks", "hooks/cli.lua"},
                                                         {"lock_timeout", "250ms"},
                                                         {"statement_timeout", "2h"},
                                                         {"allow_downgrade", "true"},
                                                         {"lua_time_limit", "33s"},
                                                         {"lua_memory_limit", "300MiB"},
                                                         {"script_location", "migrations"},
                                                         {"lock_retries", "5"},
                                                         {"lock_retry_delay", "300ms"},
                                                         {"wait_for_db", "3s"},
                                                         {"migration_lock_timeout", "3min"}};

  SECTION("environment block over top level") {
    auto r = cli({"config", "-e", "production"}, in_project(p));
    REQUIRE(r.status == 0);
    CHECK_THAT(r.out, Contains("Environment: production (from -e/--env; defined: bare, production)"));
    for (const auto& [key, value] : env_values) {
      INFO(key << "\n" << r.out);
      auto s = setting(r.out, key);
      CHECK(s.value == value);
      CHECK(s.origin == env_origin);
    }
    auto s = setting(r.out, "script_location");
    CHECK(s.value == "migrations");
    CHECK(s.origin == top_origin);
    // `env show` is the same command.
    CHECK(cli({"env", "show", "-e", "production"}, in_project(p)).out == r.out);
  }
  SECTION("top level when the environment block is silent") {
    auto r =
        cli({"config"}, in_project(p, {{"LUAMIG_ENV", "bare"}, {"DATABASE_URL", "postgresql://var@h/var"}}));
    REQUIRE(r.status == 0);
    for (const auto& [key, value] : top_values) {
      INFO(key << "\n" << r.out);
      auto s = setting(r.out, key);
      CHECK(s.value == value);
      CHECK(s.origin == top_origin);
    }
  }
  SECTION("command line over everything") {
    Strings args = {"config", "-e", "production", "--url", "postgresql://cli@h/cli"};
    for (const auto& [key, value] : cli_values) {
      args.push_back("--set");
      args.push_back(key + "=" + value);
    }
    auto r = cli(args, in_project(p, {{"DATABASE_URL", "postgresql://var@h/var"}}));
    REQUIRE(r.status == 0);
    for (const auto& [key, value] : cli_values) {
      INFO(key << "\n" << r.out);
      auto s = setting(r.out, key);
      CHECK(s.value == value);
      CHECK(s.origin == "--set");
    }
    auto url = setting(r.out, "url");
    CHECK(url.value == "postgresql://cli@h/cli");
    CHECK(url.origin == "--url");
    // Dedicated flags of other settings show under their own name.
    r = cli({"config", "-e", "production", "--wait-for-db", "30s", "--lock-timeout", "90s"}, in_project(p));
    REQUIRE(r.status == 0);
    CHECK(setting(r.out, "wait_for_db").value == "30s");
    CHECK(setting(r.out, "wait_for_db").origin == "--wait-for-db");
    CHECK(setting(r.out, "migration_lock_timeout").value == "90s");
    CHECK(setting(r.out, "migration_lock_timeout").origin == "--lock-timeout");
    // --set url=... is the same as --url; the later of two --set wins.
    r = cli({"config", "-e", "production", "--set", "url=postgresql://a@h/a", "--set", "lock_timeout=1s",
             "--set", "lock_timeout=3s"},
            in_project(p));
    CHECK(setting(r.out, "url").value == "postgresql://a@h/a");
    CHECK(setting(r.out, "lock_timeout").value == "3s");
  }
  SECTION("environment variable, then built-in defaults") {
    p.write("luamig.lua", "-- nothing set\n");
    auto r = cli({"config"}, in_project(p, {{"DATABASE_URL", "postgresql://var@h/var"}}));
    REQUIRE(r.status == 0);
    CHECK_THAT(r.out,
               Contains("Environment: default (from built-in: no environments are defined; none defined)"));
    auto url = setting(r.out, "url");
    CHECK(url.value == "postgresql://var@h/var");
    CHECK(url.origin == "$DATABASE_URL");
    const std::map<std::string, std::string> defaults = {{"script_location", "migrations"},
                                                         {"version_table", "alembic_version"},
                                                         {"version_table_schema", "(unset)"},
                                                         {"history_table", "luamig_history"},
                                                         {"history_table_schema", "(unset)"},
                                                         {"validate_on_upgrade", "true"},
                                                         {"transaction_per_migration", "true"},
                                                         {"hooks", "(unset)"},
                                                         {"lock_timeout", "(unset)"},
                                                         {"statement_timeout", "(unset)"},
                                                         {"allow_downgrade", "true"},
                                                         {"lua_time_limit", "60s"},
                                                         {"lua_memory_limit", "512MiB"},
                                                         {"wait_for_db", "0"},
                                                         {"migration_lock_timeout", "10min"},
                                                         {"lint_on_upgrade", "false"},
                                                         {"lock_retries", "3"},
                                                         {"lock_retry_delay", "1s"}};
    for (const auto& [key, value] : defaults) {
      INFO(key << "\n" << r.out);
      auto s = setting(r.out, key);
      CHECK(s.value == value);
      CHECK(s.origin == "built-in default");
    }
    // Every registered setting was checked: the listing has exactly these rows plus url.
    CHECK(std::count(r.out.begin(), r.out.end(), '\n') == static_cast<long>(defaults.size() + 1 + 2));
    r = cli({"config"}, in_project(p));
    CHECK(setting(r.out, "url").value == "(unset: sqlite:///luamig.db)");
  }
}

TEST_CASE("env: resolved settings drive the run (version_table from the environment)", "[env]") {
  TempDb db;
  TempProject p;
  write_three_tables(p);
  p.write_config(
      "version_table = 'vt_top'\n"
      "environments = { production = { url = " +
      lua_long_string(db.url()) + ", version_table = 'vt_env' } }\n");
  REQUIRE(cli({"-e", "production", "upgrade", "head"}, in_project(p)).status == 0);
  CHECK(db.version_rows("vt_env") == Strings{"c3"});
  CHECK_FALSE(db.table_exists("vt_top"));
  REQUIRE(cli({"-e", "production", "--set", "version_table=vt_cli", "stamp", "a1"}, in_project(p)).status ==
          0);
  CHECK(db.version_rows("vt_cli") == Strings{"a1"});
  CHECK(db.version_rows("vt_env") == Strings{"c3"});
}

TEST_CASE("env: lock_timeout and statement_timeout are in force inside migrations", "[env]") {
  TempDb db;
  db.exec("CREATE TABLE seen (rev text, name text, value text)");
  TempProject p;
  auto record = [](const std::string& rev) {
    return "  for _, name in ipairs({'lock_timeout', 'statement_timeout'}) do\n"
           "    op.execute(\"INSERT INTO seen SELECT '" +
           rev +
           "', $1, current_setting($1)\", name)\n"
           "  end\n";
  };
  p.write_migration("a1", std::nullopt, record("a1"), "");
  // Inside autocommit_block there is no transaction: the limits still hold there.
  p.write_migration("b2", "a1", "  op.autocommit_block(function()\n" + record("b2") + "  end)", "");
  p.write_migration("c3", "b2", record("c3"), "");
  p.write_config(
      "environments = {\n"
      "  production = { url = " +
      lua_long_string(db.url()) +
      ", lock_timeout = '5s', statement_timeout = '10min' },\n"
      "  development = { url = " +
      lua_long_string(db.url()) +
      " },\n"
      "}\n");
  auto r = cli({"-e", "production", "upgrade", "head"}, in_project(p));
  REQUIRE(r.status == 0);
  auto seen = [&](const std::string& rev, const std::string& name) {
    return db.query_value("SELECT value FROM seen WHERE rev = '" + rev + "' AND name = '" + name + "'");
  };
  for (const char* rev : {"a1", "b2", "c3"}) {
    INFO(rev);
    CHECK(seen(rev, "lock_timeout") == "5s");
    CHECK(seen(rev, "statement_timeout") == "10min");
  }

  // The command line wins; an environment without them leaves the server's defaults (0 = none).
  db.exec("DELETE FROM seen");
  REQUIRE(
      cli({"-e", "production", "--set", "lock_timeout=250ms", "downgrade", "base"}, in_project(p)).status ==
      0);
  // Options may follow the verb, before or after its argument.
  REQUIRE(cli({"upgrade", "--set", "lock_timeout=250ms", "a1", "-e", "production"}, in_project(p)).status ==
          0);
  CHECK(seen("a1", "lock_timeout") == "250ms");
  CHECK(seen("a1", "statement_timeout") == "10min");
  db.exec("DELETE FROM seen");
  REQUIRE(cli({"-e", "development", "upgrade", "b2"}, in_project(p)).status == 0);
  CHECK(seen("b2", "lock_timeout") == "0");
  CHECK(seen("b2", "statement_timeout") == "0");

  // And they are enforced: a statement longer than statement_timeout is cancelled (SQLSTATE 57014).
  p.write_migration("d4", "c3", "  op.execute('SELECT pg_sleep(3)')", "");
  r = cli({"-e", "production", "--set", "statement_timeout=200ms", "upgrade", "head"}, in_project(p));
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Contains("57014") && Contains("revision d4"));
  CHECK(db.version_rows() == Strings{"c3"});
}

namespace {
// A hooks file that appends "<tag> <event> ..." rows to hook_log, and checks the ctx it is given.
std::string logging_hooks(const std::string& tag) {
  return R"LUA(
local tag = ")LUA" +
         tag + R"LUA("
local function log_row(text) op.execute("INSERT INTO hook_log (entry) VALUES ($1)", tag .. " " .. text) end
local function revs(steps)
  local out = {}
  for i, s in ipairs(steps) do out[i] = s.revision end
  return table.concat(out, ",")
end
function before_run(ctx)
  assert(ctx.environment == "production" and context.environment == "production")
  assert(ctx.database:find("^postgresql://"))
  log_row(string.format("before_run %s %s from=[%s] to=[%s] steps=%s", ctx.command, ctx.target,
    table.concat(ctx.from, ","), table.concat(ctx.to, ","), revs(ctx.steps)))
end
function before_migration(step, ctx)
  assert(step.duration_ms == nil and step.file:find(step.revision, 1, true) and ctx.command == step.direction)
  log_row(string.format("before_migration %s %s %s #%d", step.direction, step.revision, step.message, step.index))
end
function after_migration(step, ctx)
  assert(type(step.duration_ms) == "number" and step.duration_ms >= 0)
  log_row(string.format("after_migration %s %s", step.direction, step.revision))
end
function after_run(ctx)
  assert(type(ctx.duration_ms) == "number")
  log_row(string.format("after_run %s to=[%s] steps=%s", ctx.command, table.concat(ctx.to, ","), revs(ctx.steps)))
end
function on_error(step, err, ctx)
  log_row(string.format("on_error %s %s", step.revision, err.message))
end
)LUA";
}

// Migrations that log themselves into hook_log between the hooks.
void write_logged_three(const TempProject& p) {
  auto body = [](const std::string& what) {
    return "  op.execute(\"INSERT INTO hook_log (entry) VALUES ('" + what + "')\")";
  };
  p.write_migration("a1", std::nullopt, body("migration upgrade a1"), body("migration downgrade a1"),
                    "first");
  p.write_migration("b2", "a1", body("migration upgrade b2"), body("migration downgrade b2"), "second");
  p.write_migration("c3", "b2", body("migration upgrade c3"), body("migration downgrade c3"), "third");
}

Strings hook_log(const TempDb& db) { return db.query_column("SELECT entry FROM hook_log ORDER BY n"); }
}  // namespace

TEST_CASE("env: hooks run in order around a multi-step upgrade and downgrade", "[env]") {
  TempDb db;
  db.exec("CREATE TABLE hook_log (n serial PRIMARY KEY, entry text)");
  TempProject p;
  write_logged_three(p);
  p.write("migrations/hooks/shared.lua", logging_hooks("shared"));
  p.write("migrations/hooks/production.lua", logging_hooks("prod"));
  p.write_config("environments = { production = { url = " + lua_long_string(db.url()) +
                 ", hooks = { 'hooks/shared.lua', 'hooks/production.lua' } } }\n");

  auto r = cli({"-e", "production", "upgrade", "head"}, in_project(p));
  REQUIRE(r.status == 0);
  CHECK(hook_log(db) == Strings{
                            "shared before_run upgrade head from=[] to=[c3] steps=a1,b2,c3",
                            "prod before_run upgrade head from=[] to=[c3] steps=a1,b2,c3",
                            "shared before_migration upgrade a1 first #1",
                            "prod before_migration upgrade a1 first #1",
                            "migration upgrade a1",
                            "shared after_migration upgrade a1",
                            "prod after_migration upgrade a1",
                            "shared before_migration upgrade b2 second #2",
                            "prod before_migration upgrade b2 second #2",
                            "migration upgrade b2",
                            "shared after_migration upgrade b2",
                            "prod after_migration upgrade b2",
                            "shared before_migration upgrade c3 third #3",
                            "prod before_migration upgrade c3 third #3",
                            "migration upgrade c3",
                            "shared after_migration upgrade c3",
                            "prod after_migration upgrade c3",
                            "shared after_run upgrade to=[c3] steps=a1,b2,c3",
                            "prod after_run upgrade to=[c3] steps=a1,b2,c3",
                        });
  CHECK(db.version_rows() == Strings{"c3"});

  db.exec("TRUNCATE hook_log RESTART IDENTITY");
  r = cli({"-e", "production", "downgrade", "a1"}, in_project(p));
  REQUIRE(r.status == 0);
  CHECK(hook_log(db) == Strings{
                            "shared before_run downgrade a1 from=[c3] to=[a1] steps=c3,b2",
                            "prod before_run downgrade a1 from=[c3] to=[a1] steps=c3,b2",
                            "shared before_migration downgrade c3 third #1",
                            "prod before_migration downgrade c3 third #1",
                            "migration downgrade c3",
                            "shared after_migration downgrade c3",
                            "prod after_migration downgrade c3",
                            "shared before_migration downgrade b2 second #2",
                            "prod before_migration downgrade b2 second #2",
                            "migration downgrade b2",
                            "shared after_migration downgrade b2",
                            "prod after_migration downgrade b2",
                            "shared after_run downgrade to=[a1] steps=c3,b2",
                            "prod after_run downgrade to=[a1] steps=c3,b2",
                        });
  CHECK(db.version_rows() == Strings{"a1"});

  // Nothing to do: before_run and after_run still run once, with no steps.
  db.exec("TRUNCATE hook_log RESTART IDENTITY");
  REQUIRE(cli({"-e", "production", "upgrade", "a1"}, in_project(p)).status == 0);
  CHECK(hook_log(db) ==
        Strings{"shared before_run upgrade a1 from=[a1] to=[a1] steps=",
                "prod before_run upgrade a1 from=[a1] to=[a1] steps=",
                "shared after_run upgrade to=[a1] steps=", "prod after_run upgrade to=[a1] steps="});
}

TEST_CASE("env: a hook's SQL rolls back with a failing migration, and on_error runs once", "[env]") {
  TempDb db;
  db.exec("CREATE TABLE hook_log (n serial PRIMARY KEY, entry text)");
  TempProject p;
  p.write_migration("a1", std::nullopt, "  op.create_table('t_a1', {'id', 'int'})", "", "first");
  p.write_migration("b2", "a1",
                    "  op.create_table('t_b2', {'id', 'int'})\n  op.execute('SELECT * FROM no_such_table')",
                    "", "second");
  p.write_migration("c3", "b2", "", "", "third");
  p.write("migrations/hooks/audit.lua", logging_hooks("audit") + R"LUA(
local previous = on_error
function on_error(step, err, ctx)
  previous(step, err, ctx)
  op.execute("INSERT INTO hook_log (entry) VALUES ($1)",
    string.format("details %s %s %s", tostring(err.sqlstate), tostring(err.file), tostring(err.hook)))
  return true   -- cannot swallow the error
end
)LUA");
  p.write_config("environments = { production = { url = " + lua_long_string(db.url()) +
                 ", hooks = 'hooks/audit.lua' } }\n");

  auto r = cli({"-e", "production", "upgrade", "head"}, in_project(p));
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Contains("revision b2") && Contains("42P01"));
  CHECK(db.version_rows() == Strings{"a1"});
  CHECK(db.table_exists("t_a1"));
  CHECK_FALSE(db.table_exists("t_b2"));
  // before_migration of b2 wrote a row inside b2's transaction: it went with the rollback. on_error ran once,
  // for b2, in a transaction of its own; after_run never ran.
  CHECK(hook_log(db) == Strings{
                            "audit before_run upgrade head from=[] to=[c3] steps=a1,b2,c3",
                            "audit before_migration upgrade a1 first #1",
                            "audit after_migration upgrade a1",
                            "audit on_error b2 relation \"no_such_table\" does not exist",
                            "details 42P01 migrations/versions/b2_second.lua nil",
                        });

  SECTION("transaction_per_migration = false: everything rolls back, on_error still runs once") {
    TempDb db2;
    db2.exec("CREATE TABLE hook_log (n serial PRIMARY KEY, entry text)");
    auto r2 = cli({"-e", "production", "--url", db2.url(), "--set", "transaction_per_migration=false",
                   "upgrade", "head"},
                  in_project(p));
    CHECK(r2.status == 1);
    CHECK(db2.version_rows().empty());
    CHECK_FALSE(db2.table_exists("t_a1"));
    CHECK(db2.query_column("SELECT entry FROM hook_log WHERE entry LIKE '%on_error%'") ==
          Strings{"audit on_error b2 relation \"no_such_table\" does not exist"});
    CHECK(db2.query_value("SELECT count(*) FROM hook_log WHERE entry LIKE '%\\_migration %'") == "0");
  }
}

TEST_CASE("env: a hook's own error is reported with file, function and line", "[env]") {
  TempDb db;
  db.exec("CREATE TABLE hook_log (n serial PRIMARY KEY, entry text)");
  TempProject p;
  write_three_tables(p);
  p.write(
      "migrations/hooks/guard.lua",
      "function before_migration(step, ctx)\n"
      "  op.execute(\"INSERT INTO hook_log (entry) VALUES ($1)\", 'before ' .. step.revision)\n"
      "  if step.revision == 'b2' then\n"
      "    error('b2 is not allowed here')\n"
      "  end\n"
      "end\n"
      "function on_error(step, err, ctx)\n"
      "  op.execute(\"INSERT INTO hook_log (entry) VALUES ($1)\", 'on_error ' .. step.revision .. ' ' ..\n"
      "    err.hook .. ' ' .. err.file .. ':' .. err.line)\n"
      "end\n");
  p.write_config("environments = { production = { url = " + lua_long_string(db.url()) +
                 ", hooks = 'hooks/guard.lua' } }\n");
  auto r = cli({"-e", "production", "upgrade", "head"}, in_project(p));
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Contains("upgrade of revision b2 (second) failed in hook before_migration") &&
                        Contains("migrations/hooks/guard.lua:4 (in before_migration)") &&
                        Contains("b2 is not allowed here") && Contains("rolled back"));
  CHECK(db.version_rows() == Strings{"a1"});
  CHECK_FALSE(db.table_exists("t_b2"));
  CHECK(hook_log(db) == Strings{"before a1", "on_error b2 before_migration migrations/hooks/guard.lua:4"});

  // A failing before_run stops the run before any revision; an SQL error in after_run is reported as such.
  TempDb db2;
  p.write("migrations/hooks/guard.lua",
          "function before_run(ctx)\n"
          "  op.execute('CREATE TABLE made_by_before_run (id int)')\n"
          "  error({ code = 7 })\n"
          "end\n");
  r = cli({"-e", "production", "--url", db2.url(), "upgrade", "head"}, in_project(p));
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Contains("hook before_run of migrations/hooks/guard.lua failed; nothing was changed") &&
                        Contains("guard.lua:3"));
  CHECK(db2.version_rows().empty());
  CHECK_FALSE(db2.table_exists("made_by_before_run"));

  // A failing on_error is reported, its SQL rolled back, and the revision's error still decides the outcome.
  TempDb db3;
  p.write_migration("c3", "b2", "  error('c3 breaks')", "", "third");
  p.write("migrations/hooks/guard.lua",
          "function on_error(step, err, ctx)\n"
          "  op.execute('CREATE TABLE made_by_on_error (id int)')\n"
          "  error('on_error breaks too')\n"
          "end\n");
  r = cli({"-e", "production", "--url", db3.url(), "upgrade", "head"}, in_project(p));
  CHECK(r.status == 1);
  CHECK_THAT(
      r.err,
      Contains("upgrade of revision c3 (third) failed") && Contains("c3 breaks") &&
          Contains("hook on_error of migrations/hooks/guard.lua failed; its changes were rolled back") &&
          Contains("on_error breaks too") && Contains("guard.lua:3"));
  CHECK(db3.version_rows() == Strings{"b2"});
  CHECK_FALSE(db3.table_exists("made_by_on_error"));
  write_three_tables(p);

  p.write("migrations/hooks/guard.lua", "function after_run(ctx)\n  op.execute('SELECT 1/0')\nend\n");
  r = cli({"-e", "production", "--url", db2.url(), "upgrade", "head"}, in_project(p));
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Contains("hook after_run") && Contains("the migrations above were committed") &&
                        Contains("22012") && Contains("SELECT 1/0") && Contains("guard.lua:2"));
  CHECK(db2.version_rows() == Strings{"c3"});
}

TEST_CASE("env: a hooks file with a syntax error stops the run before it connects", "[env]") {
  TempDb db;
  TempProject p;
  write_three_tables(p);
  p.write("migrations/hooks/bad.lua", "function before_run(ctx)\n  local x = \nend\n");
  p.write_config("environments = { production = { url = " + lua_long_string(db.url()) +
                 ", hooks = 'hooks/bad.lua' } }\n");
  auto r = cli({"-e", "production", "upgrade", "head"}, in_project(p));
  CHECK(r.status == 2);
  CHECK_THAT(r.err, Contains("migrations/hooks/bad.lua:3:") && Contains("syntax error"));
  CHECK(db.tables().empty());  // not even the version table

  // A runtime error in the file's top level: exit 1, file:line.
  p.write("migrations/hooks/bad.lua", "local n = nil\nlocal y = n + 1\n");
  r = cli({"-e", "production", "upgrade", "head"}, in_project(p));
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Contains("hook top level of migrations/hooks/bad.lua failed") && Contains("bad.lua:2"));
  CHECK(db.version_rows().empty());

  // A missing file is a config error naming it.
  p.remove("migrations/hooks/bad.lua");
  r = cli({"-e", "production", "upgrade", "head"}, in_project(p));
  CHECK(r.status == 2);
  CHECK_THAT(r.err, Contains("hooks file migrations/hooks/bad.lua not found"));
}

TEST_CASE("env: --no-hooks skips the hooks and says so", "[env]") {
  TempDb db;
  TempProject p;
  write_three_tables(p);
  p.write("migrations/hooks/stop.lua", "function before_run(ctx) error('hooks ran') end\n");
  p.write("migrations/hooks/broken.lua", "this is not lua");
  p.write_config("environments = { production = { url = " + lua_long_string(db.url()) +
                 ", hooks = { 'hooks/stop.lua', 'hooks/broken.lua' } } }\n");
  auto r = cli({"-e", "production", "upgrade", "head"}, in_project(p));
  CHECK(r.status == 2);  // the broken file is found first
  r = cli({"-e", "production", "upgrade", "head", "--no-hooks"}, in_project(p));
  REQUIRE(r.status == 0);
  CHECK_THAT(r.err,
             Contains("Hooks skipped (--no-hooks): migrations/hooks/stop.lua, migrations/hooks/broken.lua"));
  CHECK_THAT(r.all(), !Contains("hooks ran"));
  CHECK(db.version_rows() == Strings{"c3"});
}

TEST_CASE("env: allow_downgrade = false refuses a downgrade unless --force", "[env]") {
  TempDb db;
  TempProject p;
  write_three_tables(p);
  p.write_config("environments = { production = { url = " + lua_long_string(db.url()) +
                 ", allow_downgrade = false } }\n");
  REQUIRE(cli({"-e", "production", "upgrade", "head"}, in_project(p)).status == 0);

  auto r = cli({"-e", "production", "downgrade", "-1"}, in_project(p));
  CHECK(r.status == 2);
  CHECK_THAT(r.err, Contains("downgrade refused") && Contains("environment 'production'") &&
                        Contains("allow_downgrade = false") && Contains("--force"));
  CHECK(db.version_rows() == Strings{"c3"});
  CHECK(db.table_exists("t_c3"));

  r = cli({"-e", "production", "downgrade", "-1", "--force"}, in_project(p));
  CHECK(r.status == 0);
  CHECK_THAT(r.err, Contains("allow_downgrade = false") && Contains("--force"));
  CHECK(db.version_rows() == Strings{"b2"});
  CHECK_FALSE(db.table_exists("t_c3"));

  // The command line can lift the setting too; upgrades are never affected.
  CHECK(cli({"-e", "production", "--set", "allow_downgrade=true", "downgrade", "a1"}, in_project(p)).status ==
        0);
  CHECK(db.version_rows() == Strings{"a1"});
  CHECK(cli({"-e", "production", "upgrade", "head"}, in_project(p)).status == 0);
}

namespace {
std::string source_file(const std::string& rel) {
  std::ifstream f(std::string(LUAMIG_SOURCE_DIR) + "/" + rel, std::ios::binary);
  REQUIRE(f.good());
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}
}  // namespace

TEST_CASE("env: the example config and production hooks", "[env]") {
  TempDb db;
  TempProject p;
  // The repository's own luamig.lua and hooks, with migrations of this test.
  p.write("luamig.lua", source_file("luamig.lua"));
  p.write("migrations/hooks/shared.lua", source_file("migrations/hooks/shared.lua"));
  p.write("migrations/hooks/production.lua", source_file("migrations/hooks/production.lua"));
  write_three_tables(p);
  auto prod = in_project(p, {{"DATABASE_URL", db.url()}});

  auto cfg = cli({"-e", "production", "config"}, prod);
  REQUIRE(cfg.status == 0);
  CHECK(setting(cfg.out, "hooks").value == "hooks/shared.lua, hooks/production.lua");
  CHECK(setting(cfg.out, "lock_timeout").value == "5s");
  CHECK(setting(cfg.out, "allow_downgrade").value == "false");

  // Without a maintenance window, or outside it, production refuses before any revision runs.
  auto r = cli({"-e", "production", "upgrade", "head"}, prod);
  CHECK(r.status == 1);
  CHECK_THAT(r.err,
             Contains("hook before_run of migrations/hooks/production.lua failed; nothing was changed") &&
                 Contains("maintenance_window=open"));
  r = cli({"-e", "production", "upgrade", "head", "-x", "maintenance_window=00:00-00:00"}, prod);
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Contains("outside the maintenance window 00:00-00:00"));
  CHECK(db.version_rows().empty());
  CHECK_FALSE(db.table_exists("luamig_audit"));

  // Inside the window: every applied revision is audited, under luamig's application_name.
  r = cli({"-e", "production", "upgrade", "b2", "-x", "maintenance_window=00:00-24:00"}, prod);
  REQUIRE(r.status == 0);
  CHECK_THAT(r.err, Contains("upgrade on production: 2 steps, a1 .. b2"));
  CHECK(db.version_rows() == Strings{"b2"});
  CHECK(db.query_column("SELECT revision || ' ' || direction || ' ' || outcome || ' ' || application_name "
                        "FROM luamig_audit ORDER BY id") ==
        Strings{"a1 upgrade applied luamig upgrade (production)",
                "b2 upgrade applied luamig upgrade (production)"});

  // A failing revision leaves no "applied" row, and on_error records the failure after the rollback.
  p.write_migration("d4", "c3", "  op.execute('INSERT INTO missing_table VALUES (1)')", "", "broken");
  r = cli({"-e", "production", "upgrade", "head", "-x", "maintenance_window=open"}, prod);
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Contains("upgrade of d4 failed: relation \"missing_table\" does not exist"));
  CHECK(db.version_rows() == Strings{"c3"});
  CHECK(db.query_column("SELECT revision || ' ' || outcome || ' ' || coalesce(detail, '') FROM luamig_audit "
                        "WHERE revision IN ('c3', 'd4') ORDER BY id") ==
        Strings{"c3 applied ", "d4 failed relation \"missing_table\" does not exist (SQLSTATE 42P01)"});

  // Nothing to do needs no window; production refuses to downgrade; without DATABASE_URL it has no database.
  p.remove("migrations/versions/d4_broken.lua");
  CHECK(cli({"-e", "production", "upgrade", "head"}, prod).status == 0);
  CHECK(cli({"-e", "production", "downgrade", "base"}, prod).status == 2);
  r = cli({"-e", "production", "upgrade", "head"}, in_project(p));
  CHECK(r.status == 2);
  CHECK_THAT(r.err, Contains("no database URL for environment 'production'"));
  CHECK_FALSE(p.exists("luamig.db"));
}

TEST_CASE("env: --sql scripts carry the timeouts, --dry-run runs hooks and keeps nothing", "[env]") {
  TempDb db;
  db.exec("CREATE TABLE hook_log (n serial PRIMARY KEY, entry text)");
  TempProject p;
  write_logged_three(p);
  p.write("migrations/hooks/production.lua", logging_hooks("prod"));
  p.write_config("environments = { production = { url = " + lua_long_string(db.url()) +
                 ", hooks = 'hooks/production.lua', lock_timeout = '5s', statement_timeout = '10min', "
                 "allow_downgrade = false } }\n");

  // Offline: the script is stdout alone; each revision's transaction sets the limits; hooks are not run.
  auto r = cli({"-e", "production", "upgrade", "head", "--sql"}, in_project(p));
  REQUIRE(r.status == 0);
  CHECK_THAT(r.out, !Contains("Environment production"));
  auto count = [](const std::string& text, const std::string& needle) {
    size_t n = 0;
    for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) ++n;
    return n;
  };
  CHECK(count(r.out, "BEGIN;") == 3);
  CHECK(count(r.out,
              "BEGIN;\n\nSET LOCAL lock_timeout = '5000ms';\n\nSET LOCAL statement_timeout = '600000ms';") ==
        3);
  CHECK_THAT(r.out, !Contains("prod before_migration"));
  CHECK_THAT(r.err, Contains("Hooks are not run in --sql mode"));
  CHECK(db.version_rows().empty());
  // allow_downgrade guards scripts too.
  r = cli({"-e", "production", "downgrade", "c3:base", "--sql"}, in_project(p));
  CHECK(r.status == 2);
  CHECK_THAT(r.err, Contains("allow_downgrade = false"));
  CHECK(cli({"-e", "production", "downgrade", "c3:base", "--sql", "--force"}, in_project(p)).status == 0);

  // Dry run: the hooks run in its one transaction, with the limits, and everything is rolled back.
  r = cli({"-e", "production", "upgrade", "head", "--dry-run"}, in_project(p));
  REQUIRE(r.status == 0);
  CHECK_THAT(r.err,
             Contains("INSERT INTO hook_log (entry) VALUES ('prod before_migration upgrade a1 first #1');") &&
                 Contains("INSERT INTO hook_log (entry) VALUES ('prod after_migration upgrade c3');"));
  CHECK_THAT(r.err, Contains("Dry run finished: 3 steps ran"));
  CHECK(hook_log(db).empty());
  CHECK(db.version_rows().empty());
  CHECK_FALSE(db.table_exists("alembic_version"));
}

TEST_CASE("env: a transactional = false revision runs under the session's limits", "[env]") {
  TempDb db;
  db.exec("CREATE TABLE seen (name text, value text)");
  TempProject p;
  p.write("migrations/versions/a1_concurrent.lua",
          "-- outside a transaction\nrevision = 'a1'\ndown_revision = nil\ntransactional = false\n"
          "function upgrade()\n"
          "  op.execute(\"INSERT INTO seen SELECT 'lock_timeout', current_setting('lock_timeout')\")\n"
          "  op.execute(\"INSERT INTO seen SELECT 'in_tx', (now() <> statement_timestamp())::text\")\n"
          "end\n");
  p.write("migrations/hooks/h.lua",
          "function before_migration(step)\n"
          "  op.execute(\"INSERT INTO seen SELECT 'hook', current_setting('lock_timeout')\")\n"
          "end\n");
  p.write_config("environments = { production = { url = " + lua_long_string(db.url()) +
                 ", lock_timeout = '7s', hooks = 'hooks/h.lua' } }\n");
  auto r = cli({"-e", "production", "upgrade", "head"}, in_project(p));
  REQUIRE(r.status == 0);
  CHECK(db.query_value("SELECT value FROM seen WHERE name = 'lock_timeout'") == "7s");
  CHECK(db.query_value("SELECT value FROM seen WHERE name = 'hook'") == "7s");
  CHECK(db.version_rows() == Strings{"a1"});
  // Reset after the revision: the session's own value is back for whatever follows.
  p.write_migration("b2", "a1",
                    "  op.execute(\"INSERT INTO seen SELECT 'b2', current_setting('lock_timeout')\")", "");
  REQUIRE(cli({"-e", "production", "--set", "lock_timeout=3s", "upgrade", "head"}, in_project(p)).status ==
          0);
  CHECK(db.query_value("SELECT value FROM seen WHERE name = 'b2'") == "3s");
}
