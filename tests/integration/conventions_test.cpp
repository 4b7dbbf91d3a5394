// The habits of the tools luamig's users come from: data on stdout and everything else on stderr, --json,
// step lines before each step, colour variables, ERROR: prefixes and suggestions, finding the project upward,
// editor and shell support. The real binary, against PostgreSQL and SQLite.
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "support/cli.hpp"
#include "support/json.hpp"
#include "support/project.hpp"
#include "support/run.hpp"
#include "support/test_db.hpp"
#include "support/text.hpp"

using namespace luamig::test;
using Catch::Matchers::Contains;
using Catch::Matchers::Matches;
using Catch::Matchers::StartsWith;
using Strings = std::vector<std::string>;
namespace tj = luamig::test::json;

namespace {
const std::string A = "aaaa00000001";
const std::string B = "bbbb00000002";

void write_two(const TempProject& proj) {
  proj.write_config();
  proj.write_migration(
      A, std::nullopt,
      "  log.info('creating t1')\n  op.create_table('t1', { 'id', 'integer', primary_key = true })\n"
      "  log.info('created t1')",
      "  op.drop_table('t1')", "create t1");
  proj.write_migration(B, A, "  op.add_column('t1', { 'note', 'text' })", "  op.drop_column('t1', 'note')",
                       "add note");
}

}  // namespace

TEST_CASE("conventions: data on stdout, notices on stderr, current prints the bare id", "[integration]") {
  BOTH_DIALECTS_DB(db);
  TempProject proj;
  write_two(proj);
  auto up = luamig_in(proj, db.url(), {"upgrade", "head"});
  INFO(up.describe());
  REQUIRE(up.status == 0);
  CHECK(up.out.empty());
  CHECK_THAT(up.err, Contains("Environment default, database"));
  // Each step is announced before it runs; its logs come under it, then its duration.
  CHECK_THAT(up.err,
             Matches("(.|\\n)*Running upgrade  -> " + A +
                     ", create t1\\n  creating t1\\n  created t1\\n  done in \\d+ ms\\nRunning upgrade " + A +
                     " -> " + B + ", add note\\n  done in \\d+ ms\\n(.|\\n)*"));

  auto cur = luamig_in(proj, db.url(), {"current"});
  CHECK(cur.status == 0);
  CHECK(cur.out == B + "\n");  // rev=$(luamig current) is the id
  auto verbose = luamig_in(proj, db.url(), {"current", "-v"});
  CHECK_THAT(verbose.out, Contains("Rev: " + B + " (head)"));
  CHECK_THAT(verbose.err, Contains("Environment default"));
  CHECK_THAT(verbose.err, Contains("Version table:"));

  auto heads = luamig_in(proj, db.url(), {"heads"});
  CHECK(count_of(heads.out, "\n") == 1);
  CHECK(heads.err.empty());
  auto history = luamig_in(proj, db.url(), {"history"});
  CHECK(count_of(history.out, "\n") == 2);
  auto check = luamig_in(proj, db.url(), {"check"});
  CHECK(check.status == 0);
  CHECK(check.out.empty());
  CHECK_THAT(check.err, Contains("At head"));
  auto nothing = luamig_in(proj, db.url(), {"upgrade", "head"});
  CHECK(nothing.out.empty());
  CHECK_THAT(nothing.err, Contains("Nothing to do"));
  auto down = luamig_in(proj, db.url(), {"downgrade", "base"});
  CHECK(down.status == 0);
  CHECK(down.out.empty());
  CHECK_THAT(down.err, Contains("Running downgrade " + B + " -> " + A + ", add note\n  done in "));
  CHECK(luamig_in(proj, db.url(), {"current"}).out.empty());
  // --sql output stays on stdout (it is the data).
  auto sql = luamig_in(proj, db.url(), {"upgrade", "head", "--sql"});
  CHECK_THAT(sql.out, Contains("-- Running upgrade  -> " + A));
}

TEST_CASE("conventions: --json on read-only verbs, parsed", "[integration]") {
  BOTH_DIALECTS_DB(db);
  TempProject proj;
  write_two(proj);
  proj.write_config("environments = { dev = { url = os.getenv and nil }, ci = {} }\n");
  proj.write_config();
  REQUIRE(luamig_in(proj, db.url(), {"upgrade", A}).status == 0);

  auto cur = luamig_in(proj, db.url(), {"current", "--json"});
  INFO(cur.describe());
  REQUIRE(cur.status == 0);
  auto c = tj::parse(cur.out);
  REQUIRE(c["current"].array().size() == 1);
  CHECK(c["current"][0]["id"].str() == A);
  CHECK(c["current"][0]["known"].boolean());
  CHECK_FALSE(c["current"][0]["is_head"].boolean());
  CHECK(c["current"][0]["message"].str() == "create t1");

  auto heads = tj::parse(luamig_in(proj, db.url(), {"--json", "heads"}).out);
  REQUIRE(heads["heads"].array().size() == 1);
  CHECK(heads["heads"][0]["id"].str() == B);
  CHECK(heads["heads"][0]["down_revisions"][0].str() == A);
  CHECK(heads["heads"][0]["is_head"].boolean());

  auto hist = tj::parse(luamig_in(proj, db.url(), {"history", "-i", "--json"}).out);
  REQUIRE(hist["revisions"].array().size() == 2);
  CHECK(hist["revisions"][0]["id"].str() == B);
  CHECK(hist["revisions"][1]["id"].str() == A);
  CHECK(hist["revisions"][1]["is_current"].boolean());
  CHECK(hist["revisions"][1]["down_revisions"].array().empty());
  CHECK_THAT(hist["revisions"][1]["path"].str(), Contains("migrations/versions/"));

  auto show = tj::parse(luamig_in(proj, db.url(), {"show", A, "--json"}).out);
  CHECK(show["revisions"][0]["id"].str() == A);

  auto check = luamig_in(proj, db.url(), {"check", "--json"});
  CHECK(check.status == 1);
  auto ch = tj::parse(check.out);
  CHECK_FALSE(ch["at_head"].boolean());
  CHECK(ch["current"][0].str() == A);
  CHECK(ch["heads"][0].str() == B);
  CHECK(ch["pending"].number() == 1);

  auto config = luamig_in(proj, db.url(), {"config", "--json"});
  REQUIRE(config.status == 0);
  auto cf = tj::parse(config.out);
  CHECK(cf["environment"].str() == "default");
  bool saw_url = false;
  for (const auto& s : cf["settings"].array()) {
    CHECK(s["key"].is_string());
    CHECK(s["origin"].is_string());
    if (s["key"].str() == "url") {
      saw_url = true;
      CHECK(s["value"].str() == db.url());
      CHECK(s["origin"].str() == "$DATABASE_URL");
    }
  }
  CHECK(saw_url);

  // Not every verb has a JSON form.
  auto stamp = luamig_in(proj, db.url(), {"stamp", "--json", "head"});
  CHECK(stamp.status == 2);
  CHECK_THAT(stamp.err, StartsWith("ERROR: --json"));
}

TEST_CASE("conventions: upgrade --json writes JSON Lines, step events and a summary", "[integration]") {
  BOTH_DIALECTS_DB(db);
  TempProject proj;
  write_two(proj);
  auto up = luamig_in(proj, db.url(), {"upgrade", "head", "--json"});
  INFO(up.describe());
  REQUIRE(up.status == 0);
  auto events = tj::parse_lines(up.out);
  REQUIRE(events.size() == 5);
  CHECK(events[0]["event"].str() == "step_start");
  CHECK(events[0]["revision"].str() == A);
  CHECK(events[0]["direction"].str() == "upgrade");
  CHECK(events[0]["message"].str() == "create t1");
  CHECK(events[1]["event"].str() == "step_end");
  CHECK(events[1]["duration_ms"].number() >= 0);
  CHECK(events[2]["event"].str() == "step_start");
  CHECK(events[2]["revision"].str() == B);
  CHECK(events[2]["down_revisions"][0].str() == A);
  CHECK(events[3]["event"].str() == "step_end");
  CHECK(events[4]["event"].str() == "summary");
  CHECK(events[4]["status"].str() == "ok");
  CHECK(events[4]["steps"].number() == 2);
  CHECK(events[4]["exit_code"].number() == 0);
  // The logs stay on stderr.
  CHECK_THAT(up.err, Contains("creating t1"));

  auto down = luamig_in(proj, db.url(), {"downgrade", "base", "--json"});
  auto d = tj::parse_lines(down.out);
  REQUIRE(d.size() == 5);
  CHECK(d[0]["direction"].str() == "downgrade");
  CHECK(d[0]["revision"].str() == B);
  CHECK(d[4]["status"].str() == "ok");

  // A failing step: step_start, step_failed, then a failed summary; exit 1; nothing of it left behind.
  proj.write_migration("cccc00000003", B, "  op.execute('SELECT * FROM no_such_table')", "", "broken");
  auto failed = luamig_in(proj, db.url(), {"upgrade", "head", "--json"});
  CHECK(failed.status == 1);
  auto f = tj::parse_lines(failed.out);
  REQUIRE(f.size() >= 3);
  CHECK(f[f.size() - 2]["event"].str() == "step_failed");
  CHECK(f[f.size() - 2]["revision"].str() == "cccc00000003");
  CHECK_THAT(f[f.size() - 2]["error"].str(), Contains("no_such_table"));
  CHECK(f.back()["event"].str() == "summary");
  CHECK(f.back()["status"].str() == "failed");
  CHECK(f.back()["exit_code"].number() == 1);
  CHECK(db.version_rows() == Strings{B});
  CHECK_THAT(failed.err, Contains("ERROR: upgrade of revision cccc00000003"));

  // A graph error before any step: only the summary, exit 2.
  auto bad = luamig_in(proj, db.url(), {"upgrade", "nosuchrev", "--json"});
  CHECK(bad.status == 2);
  auto b = tj::parse_lines(bad.out);
  REQUIRE(b.size() == 1);
  CHECK(b[0]["status"].str() == "failed");
  CHECK(b[0]["exit_code"].number() == 2);
}

TEST_CASE("conventions: database values are escaped wherever they are printed", "[integration]") {
  BOTH_DIALECTS_DB(db);
  TempProject proj;
  write_two(proj);
  REQUIRE(luamig_in(proj, db.url(), {"upgrade", A}).status == 0);
  // A row forged to clear the screen and print a fake "(head)" line; and one with a C1 CSI.
  const std::string forged = "x\x1b[2J\x1b[H\n" + B + " (head)";
  const std::string c1 =
      "y\xc2\x9b"
      "31m";
  std::string quoted = "'x' || char(27) || '[2J' || char(27) || '[H' || char(10) || '" + B + " (head)'";
  if (db.is_postgresql())
    quoted = "'x' || chr(27) || '[2J' || chr(27) || '[H' || chr(10) || '" + B + " (head)'";
  db.exec("INSERT INTO alembic_version (version_num) VALUES (" + quoted + ")");
  db.exec("INSERT INTO alembic_version (version_num) VALUES ('" + c1 + "')");

  auto no_raw_controls = [](const std::string& s) {
    for (unsigned char ch : s)
      if ((ch < 0x20 && ch != '\n' && ch != '\t') || ch == 0x7f) return false;
    return s.find("\xc2\x9b") == std::string::npos;
  };
  for (const Strings& args :
       {Strings{"current"}, Strings{"current", "-v"}, Strings{"check"}, Strings{"history", "-i"},
        Strings{"upgrade", "head"}, Strings{"stamp", "--purge", A}}) {
    auto r = luamig_in(proj, db.url(), args);
    INFO(r.describe());
    CHECK(no_raw_controls(r.out));
    CHECK(no_raw_controls(r.err));
    CHECK_THAT(r.out, !Contains("\n" + B + " (head)"));
    CHECK_THAT(r.err, !Contains("\n" + B + " (head)"));
    if (args[0] == "current" && args.size() == 1) {
      CHECK_THAT(r.out, Contains("x\\x1b[2J\\x1b[H\\n" + B + " (head)"));
      CHECK_THAT(r.out, Contains("y\\u009b31m"));
      CHECK(count_of(r.out, "\n") == 3);
    }
    if (args[0] == "stamp") break;  // resets the table
    db.exec("DELETE FROM alembic_version");
    db.exec("INSERT INTO alembic_version (version_num) VALUES ('" + A + "')");
    db.exec("INSERT INTO alembic_version (version_num) VALUES (" + quoted + ")");
    db.exec("INSERT INTO alembic_version (version_num) VALUES ('" + c1 + "')");
  }
  // JSON carries the value exactly, escaped as JSON.
  db.exec("DELETE FROM alembic_version");
  db.exec("INSERT INTO alembic_version (version_num) VALUES (" + quoted + ")");
  auto js = luamig_in(proj, db.url(), {"current", "--json"});
  CHECK(no_raw_controls(js.out));
  auto v = tj::parse(js.out);
  CHECK(v["current"][0]["id"].str() == forged);
  CHECK_FALSE(v["current"][0]["known"].boolean());
}

TEST_CASE("conventions: a revision message or log line with control characters is escaped", "[integration]") {
  BOTH_DIALECTS_DB(db);
  TempProject proj;
  proj.write_config();
  proj.write("migrations/versions/e1_evil.lua",
             "-- evil\n\nrevision = 'eeee00000001'\ndown_revision = nil\n"
             "function upgrade() log.info('a\\27[2Jb\\nfake line') end\nfunction downgrade() end\n");
  auto up = luamig_in(proj, db.url(), {"upgrade", "head"});
  INFO(up.describe());
  CHECK(up.status == 0);
  CHECK_THAT(up.err, Contains("a\\x1b[2Jb\\nfake line"));
  CHECK(up.err.find('\x1b') == std::string::npos);
}

TEST_CASE("conventions: colour follows NO_COLOR, CLICOLOR_FORCE and TERM, errors start with ERROR:",
          "[integration]") {
  TempProject proj;
  proj.write_config();
  auto run_with = [&](std::vector<std::pair<std::string, std::string>> env, Strings args = {"show", "nope"}) {
    RunOptions o;
    o.cwd = proj.path();
    o.env = std::move(env);
    o.unset_env = {"NO_COLOR", "CLICOLOR_FORCE", "TERM"};
    return cli(args, o);
  };
  auto forced = run_with({{"CLICOLOR_FORCE", "1"}});
  CHECK(forced.status == 2);
  CHECK_THAT(forced.err, StartsWith("\x1b[31mERROR: "));
  auto forced_dumb = run_with({{"CLICOLOR_FORCE", "1"}, {"TERM", "dumb"}});
  CHECK_THAT(forced_dumb.err, StartsWith("\x1b[31mERROR: "));
  auto no_color = run_with({{"CLICOLOR_FORCE", "1"}, {"NO_COLOR", "1"}});
  CHECK_THAT(no_color.err, StartsWith("ERROR: "));
  auto empty_no_color = run_with({{"CLICOLOR_FORCE", "1"}, {"NO_COLOR", ""}});
  CHECK_THAT(empty_no_color.err, StartsWith("\x1b[31mERROR: "));
  auto flag = run_with({{"CLICOLOR_FORCE", "1"}}, {"--no-color", "show", "nope"});
  CHECK_THAT(flag.err, StartsWith("ERROR: "));
  auto plain = run_with({});  // not a terminal
  CHECK_THAT(plain.err, StartsWith("ERROR: "));
  CHECK(plain.err.find('\x1b') == std::string::npos);

  // Parser errors too, each with exit 2 and nothing on stdout.
  for (const Strings& args : {Strings{"upgrade"}, Strings{"--lock-timeout"}, Strings{"show", "a", "b"},
                              Strings{"completion", "tcsh"}, Strings{}}) {
    auto r = cli(args, {.cwd = proj.path()});
    INFO(r.describe());
    CHECK(r.status == 2);
    CHECK_THAT(r.err, StartsWith("ERROR: "));
    CHECK(r.out.empty());
  }
}

TEST_CASE("conventions: an unknown verb or flag is named, with the nearest one and the verbs",
          "[integration]") {
  TempProject proj;
  proj.write_config();
  auto verb = cli({"updgrade", "head"}, {.cwd = proj.path()});
  CHECK(verb.status == 2);
  CHECK_THAT(verb.err, StartsWith("ERROR: unknown verb 'updgrade'; did you mean 'upgrade'?"));
  CHECK_THAT(verb.err, Contains("Verbs: init, revision, merge, upgrade, downgrade"));
  auto after_global = cli({"-q", "--url", "sqlite:///x.db", "histroy"}, {.cwd = proj.path()});
  CHECK_THAT(after_global.err, StartsWith("ERROR: unknown verb 'histroy'; did you mean 'history'?"));
  auto far = cli({"frobnicate"}, {.cwd = proj.path()});
  CHECK_THAT(far.err, StartsWith("ERROR: unknown verb 'frobnicate'\n"));
  CHECK_THAT(far.err, Contains("Verbs: "));
  auto flag = cli({"upgrade", "--dry-rn", "head"}, {.cwd = proj.path()});
  CHECK(flag.status == 2);
  CHECK_THAT(flag.err,
             StartsWith("ERROR: unknown flag '--dry-rn' for `luamig upgrade`; did you mean '--dry-run'?"));
  auto global = cli({"--quite", "heads"}, {.cwd = proj.path()});
  CHECK_THAT(global.err, StartsWith("ERROR: unknown flag '--quite'; did you mean '--quiet'?"));
  auto verb_flag = cli({"history", "--verbos"}, {.cwd = proj.path()});
  CHECK_THAT(verb_flag.err, Contains("did you mean '--verbose'?"));
  // Help still works and goes to stdout.
  auto help = cli({"--help"});
  CHECK(help.status == 0);
  CHECK_THAT(help.out, Contains("upgrade"));
}

TEST_CASE("conventions: the project is found upward from a subdirectory, and -c DIR", "[integration]") {
  BOTH_DIALECTS_DB(db);
  TempProject proj;
  write_two(proj);
  std::filesystem::create_directories(proj.path("app/models"));
  auto up = luamig_in(proj, db.url(), {"upgrade", "head"}, {.cwd = proj.path("app/models").string()});
  INFO(up.describe());
  REQUIRE(up.status == 0);
  CHECK_THAT(up.err, Contains("Using the project in " + proj.path().string()));
  CHECK(db.version_rows() == Strings{B});
  CHECK(luamig_in(proj, db.url(), {"current"}, {.cwd = proj.path("app").string()}).out == B + "\n");
  // No project anywhere upward: the usual message for a missing revision directory.
  TempProject empty;
  std::filesystem::create_directories(empty.path("x"));
  auto none = luamig_in(empty, db.url(), {"heads"}, {.cwd = empty.path("x").string()});
  CHECK_THAT(none.err, !Contains("Using the project"));
  // -c DIR means DIR/luamig.lua; a directory without one is an error.
  auto dir = luamig_in(proj, db.url(), {"-c", proj.path().string(), "heads"}, {.cwd = empty.path().string()});
  CHECK(dir.status == 0);
  CHECK_THAT(dir.out, Contains(B));
  auto bad =
      luamig_in(proj, db.url(), {"-c", empty.path("x").string(), "heads"}, {.cwd = empty.path().string()});
  CHECK(bad.status == 2);
  CHECK_THAT(bad.err,
             StartsWith("ERROR: -c " + empty.path("x").string() + ": a directory without luamig.lua"));
  // LUAMIG_CONFIG pointing at a file still wins; nothing is searched.
  auto env = luamig_in(
      proj, db.url(), {"heads"},
      {.cwd = proj.path("app").string(), .env = {{"LUAMIG_CONFIG", proj.path("luamig.lua").string()}}});
  CHECK_THAT(env.err, !Contains("Using the project"));
}

TEST_CASE("conventions: editor support, shell completion and the man page", "[integration]") {
  TempProject proj;
  auto init = cli({"init", proj.path("p").string()});
  REQUIRE(init.status == 0);
  CHECK(proj.exists("p/.luarc.json"));
  CHECK_THAT(proj.read("p/.luarc.json"), Contains(".luamig/types"));
  CHECK_THAT(proj.read("p/.luamig/types/luamig.lua"), StartsWith("---@meta"));
  auto es = cli({"editor-support", proj.path().string()});
  REQUIRE(es.status == 0);
  CHECK_THAT(proj.read(".luamig/types/luamig.lua"), Contains("function op.create_index("));
  CHECK_THAT(proj.read(".luamig/types/luamig.lua"), Contains("function backfill.update("));
  // An existing .luarc.json is left alone.
  proj.write("q/.luarc.json", "{\"mine\": true}");
  CHECK(cli({"editor-support", proj.path("q").string()}).status == 0);
  CHECK(proj.read("q/.luarc.json") == "{\"mine\": true}");

  // Completion: valid scripts naming verbs and flags; revisions come from list-names.
  for (const char* shell : {"bash", "zsh", "fish"}) {
    auto c = cli({"completion", shell});
    INFO(shell);
    REQUIRE(c.status == 0);
    for (const char* word : {"upgrade", "downgrade", "history", "dry-run", "json", "list-names revisions",
                             "list-names environments"})
      CHECK_THAT(c.out, Contains(word));
  }
  auto bash = cli({"completion", "bash"});
  proj.write("c.bash", bash.out);
  CHECK(run({"bash", "-n", proj.path("c.bash").string()}).status == 0);
  // Simulate a completion in bash: "luamig upg<TAB>" and "luamig upgrade <TAB>".
  proj.write_config("environments = { dev = {}, prod = {} }\ndefault_environment = 'dev'\n");
  proj.write_migration(A, std::nullopt, "", "", "first");
  const std::string bin_dir = std::filesystem::path(luamig_bin()).parent_path().string();
  auto complete = [&](const std::string& line, int cword) {
    std::string script = "source " + proj.path("c.bash").string() + "\nCOMP_WORDS=(" + line +
                         ")\nCOMP_CWORD=" + std::to_string(cword) +
                         "\n_luamig\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n";
    proj.write("t.bash", script);
    RunOptions o;
    o.cwd = proj.path();
    o.env = {{"PATH", bin_dir + ":/usr/bin:/bin"}};
    return run({"bash", proj.path("t.bash").string()}, o);
  };
  CHECK(complete("luamig upg", 1).out == "upgrade\n");
  CHECK_THAT(complete("luamig upgrade ''", 2).out, Contains(A + "\n") && Contains("head\n"));
  CHECK_THAT(complete("luamig -e ''", 2).out, Contains("dev\n") && Contains("prod\n"));
  CHECK(complete("luamig upgrade --dry", 2).out == "--dry-run\n");

  // The man page: roff, every visible verb and every global flag of --help.
  auto man = cli({"man"});
  REQUIRE(man.status == 0);
  CHECK_THAT(man.out, StartsWith(".TH LUAMIG 1"));
  auto help = cli({"--help"});
  for (const char* verb : {"init", "revision", "merge", "upgrade", "downgrade", "current", "history", "heads",
                           "show", "stamp", "check", "config", "env", "completion", "editor-support"}) {
    CHECK_THAT(man.out, Contains(std::string(".SS \"") + verb + "\""));
    CHECK_THAT(help.out, Contains(verb));
  }
  for (std::string flag :
       {"config", "url", "env", "set", "no-hooks", "quiet", "no-color", "json", "lock-timeout"}) {
    CHECK_THAT(help.out, Contains("--" + flag));
    std::string roff = "\\-\\-";
    for (char c : flag) roff += c == '-' ? std::string("\\-") : std::string(1, c);
    CHECK_THAT(man.out, Contains(roff));
  }
  proj.write("luamig.1", man.out);
  auto rendered = run({"groff", "-man", "-Tutf8", "-ww", proj.path("luamig.1").string()});
  CHECK(rendered.status == 0);
  CHECK(rendered.err.empty());
}

TEST_CASE("conventions: backfill progress shows the total, estimated from pg_class.reltuples or given",
          "[integration]") {
  const auto db_owner = TestDb::make("postgresql");
  const TestDb& db = *db_owner;
  TempProject proj;
  proj.write_config();
  db.exec(
      "CREATE TABLE items (id bigint PRIMARY KEY, v text); "
      "INSERT INTO items SELECT g, NULL FROM generate_series(1, 3000) g; ANALYZE items;");
  proj.write_migration(A, std::nullopt,
                       "  local backfill = require('luamig.backfill')\n"
                       "  backfill.update{ table = 'items', batch = 100, progress_every = 10,\n"
                       "    columns = { 'id' }, set = function(r) return { v = 'x' } end }",
                       "", "estimated");
  proj.write_migration(
      B, A,
      "  local backfill = require('luamig.backfill')\n"
      "  backfill.update{ table = 'items', batch = 100, progress_every = 10, total = 3000,\n"
      "    where = \"v = 'x'\", columns = { 'id' }, set = function(r) return { v = 'y' } end }",
      "", "given");
  auto r = luamig_in(proj, db.url(), {"upgrade", "head"});
  INFO(r.describe());
  REQUIRE(r.status == 0);
  CHECK(r.out.empty());
  CHECK_THAT(r.err, Contains("backfill items: 1,000 rows in 10 batches, 33% of ~3,000, "));
  CHECK_THAT(r.err, Contains("backfill items: 1,000 rows in 10 batches, 33% of 3,000, "));
  CHECK_THAT(r.err, Matches("(.|\\n)*rows/s, ETA \\d+s(.|\\n)*"));
  // The progress lines come under their step's header.
  auto estimated_header = r.err.find("Running upgrade  -> " + A);
  auto given_header = r.err.find("Running upgrade " + A + " -> " + B);
  auto estimated_line = r.err.find("of ~3,000");
  auto given_line = r.err.find("of 3,000");
  CHECK(estimated_header < estimated_line);
  CHECK(estimated_line < given_header);
  CHECK(given_header < given_line);
  // A bad total is refused with the file and line.
  proj.write_migration("cccc00000003", B,
                       "  require('luamig.backfill').update{ table = 'items', total = 'lots',\n"
                       "    set = function(r) return nil end }",
                       "", "bad total");
  auto bad = luamig_in(proj, db.url(), {"upgrade", "head"});
  CHECK(bad.status == 1);
  CHECK_THAT(bad.err, Contains("total must be a number of rows"));
  CHECK_THAT(bad.err, Contains("cccc00000003_bad_total.lua:13"));
}
