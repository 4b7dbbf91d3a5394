// All verbs are bound in this one file: CLI11 is header-only and slow to compile, so one translation unit
// keeps the build fast. Each verb is a few lines: options into a struct, then one call into commands/.
#include "cli/cli.hpp"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <regex>

#include "cli/docs.hpp"
#include "commands/commands.hpp"
#include "commands/import_alembic.hpp"
#include "commands/lint.hpp"
#include "commands/verify.hpp"
#include "util/duration.hpp"
#include "util/error.hpp"
#include "util/output.hpp"
#include "util/suggest.hpp"

namespace luamig::cli {
namespace {

// "-1", "-12" after upgrade/downgrade/history/stamp are relative targets, not options. They move to the end,
// behind "--", so that options written after them (`downgrade -1 --force`) are still options.
std::vector<std::string> protect_relative_targets(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  static const std::regex relative(R"(-\d+)");
  std::vector<std::string> out, relatives;
  for (const auto& a : args) {
    if (std::regex_match(a, relative))
      relatives.push_back(a);
    else
      out.push_back(a);
  }
  if (!relatives.empty()) {
    out.push_back("--");
    out.insert(out.end(), relatives.begin(), relatives.end());
  }
  return out;
}

std::vector<std::string> option_names(const CLI::App& app) {
  std::vector<std::string> names;
  for (const auto* o : app.get_options()) {
    for (const auto& l : o->get_lnames()) names.push_back("--" + l);
    for (const auto& sn : o->get_snames()) names.push_back("-" + sn);
  }
  return names;
}

bool takes_value(const CLI::App& app, const std::string& arg) {
  for (const auto* o : app.get_options()) {
    if (o->get_items_expected_max() == 0) continue;
    for (const auto& l : o->get_lnames())
      if (arg == "--" + l) return true;
    for (const auto& sn : o->get_snames())
      if (arg == "-" + sn) return true;
  }
  return false;
}

// After a parse error: says what was unknown (a verb or a flag), the nearest known name, and the verbs.
// Returns false when the error is of another kind (a missing argument...), left to CLI11's own message.
bool explain_unknown(const CLI::App& app, const std::vector<std::string>& args) {
  std::vector<std::string> verbs = visible_verbs(app);
  std::string verbs_line = "Verbs: " + [&] {
    std::string t;
    for (const auto& v : verbs) t += (t.empty() ? "" : ", ") + v;
    return t;
  }();
  const CLI::App* verb = nullptr;
  bool after_dashes = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const auto& a = args[i];
    if (after_dashes) break;
    if (a == "--") {
      after_dashes = true;
      continue;
    }
    if (a.size() > 1 && a[0] == '-') {
      std::string name = a.substr(0, a.find('='));
      bool known = false;
      std::vector<std::string> candidates = option_names(app);
      if (verb) {
        auto more = option_names(*verb);
        candidates.insert(candidates.end(), more.begin(), more.end());
      }
      candidates.push_back("--help");
      candidates.push_back("--version");
      for (const auto& c : candidates) known = known || c == name;
      // Short flags can be bundled ("-qv"): left to CLI11.
      if (!known && name.rfind("--", 0) != 0 && name.size() > 2) continue;
      if (!known) {
        std::string msg = fmt::format("ERROR: unknown flag '{}'", out::escape(name));
        msg += verb ? fmt::format(" for `luamig {}`", verb->get_name()) : std::string();
        if (auto n = nearest(name, candidates)) msg += fmt::format("; did you mean '{}'?", *n);
        out::error(msg);
        out::error(fmt::format("Run `luamig {}--help` for the flags.", verb ? verb->get_name() + " " : ""));
        return true;
      }
      if (name == a && (takes_value(app, name) || (verb && takes_value(*verb, name)))) ++i;
      continue;
    }
    if (verb) continue;  // a positional argument of the verb
    for (const auto* sub : app.get_subcommands({}))
      if (sub->get_name() == a) verb = sub;
    if (!verb) {
      std::string msg = fmt::format("ERROR: unknown verb '{}'", out::escape(a));
      if (auto n = nearest(a, verbs)) msg += fmt::format("; did you mean '{}'?", *n);
      out::error(msg);
      out::error(verbs_line);
      return true;
    }
  }
  if (!verb) {
    out::error("ERROR: a verb is required (e.g. `luamig upgrade head`)");
    out::error(verbs_line);
    return true;
  }
  return false;
}

// The directory of the project for verbs that act on one: -c DIR means DIR/luamig.lua; with neither -c nor
// $LUAMIG_CONFIG and no luamig.lua here, the nearest parent directory holding one becomes the working
// directory (as git finds .git), said on stderr.
void locate_project(config::GlobalOptions& g) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!g.config_path.empty()) {
    if (fs::is_directory(g.config_path, ec)) {
      auto file = fs::path(g.config_path) / "luamig.lua";
      if (!fs::is_regular_file(file, ec))
        throw UsageError(
            fmt::format("-c {}: a directory without luamig.lua (-c takes a config file, or a "
                        "directory holding luamig.lua)",
                        g.config_path));
      g.config_path = file.string();
    }
    return;
  }
  if (const char* env = std::getenv("LUAMIG_CONFIG"); env && *env) return;
  if (fs::exists("luamig.lua", ec)) return;
  auto root = find_project_upward(fs::current_path(ec));
  if (!root) return;
  fs::current_path(*root, ec);
  if (ec)
    throw UsageError(fmt::format("cannot enter the project directory {}: {}", root->string(), ec.message()));
  out::line(fmt::format("Using the project in {} (luamig.lua found in a parent directory)", root->string()));
}
}  // namespace

int run(int argc, char** argv) {
  CLI::App app{"luamig: database migrations in Lua, compatible with Alembic's version table", "luamig"};
  app.require_subcommand(1);
  app.fallthrough();
  config::GlobalOptions g;
  std::vector<std::string> xs, sets;
  app.set_version_flag("--version", std::string("luamig ") + LUAMIG_VERSION);
  app.add_option("-c,--config", g.config_path, "Config file (default: $LUAMIG_CONFIG or ./luamig.lua)");
  app.add_option("--url", g.url, "Database URL (overrides the config file and $DATABASE_URL)")
      ->check([](const std::string& v) {
        return v.empty() ? std::string("the database URL is empty") : std::string();
      });
  app.add_option("-e,--env", g.environment,
                 "Environment from luamig.lua (default: $LUAMIG_ENV, then default_environment)");
  // One value per occurrence: `upgrade --set k=v head` must leave `head` to the verb.
  app.add_option("--set", sets,
                 "KEY=VALUE overriding a setting of luamig.lua (repeatable; see `luamig config`)")
      ->expected(1)
      ->allow_extra_args(false)
      ->take_all();
  app.add_flag("--no-hooks", g.no_hooks, "Do not run the environment's hooks");
  app.add_option("-x", xs, "KEY=VALUE passed to migrations as context.x.KEY (repeatable)")
      ->expected(1)
      ->allow_extra_args(false)
      ->take_all();
  app.add_flag("-q,--quiet", g.quiet, "Print errors only");
  bool json_output = false;
  app.add_flag("--json", json_output,
               "Machine-readable output on stdout (current, heads, history, show, check, config, env list; "
               "upgrade/downgrade as JSON Lines)");
  app.add_flag("--no-color", g.no_color, "Never colour the output");
  std::string wait_for_db, lock_timeout, check_wait;
  app.add_option("--wait-for-db", wait_for_db,
                 "Retry connecting for up to DURATION while the server is not up (config: wait_for_db)");
  app.add_option("--lock-timeout", lock_timeout,
                 "Wait up to DURATION for another luamig to release the migration lock (config: "
                 "migration_lock_timeout; default 10min; 0 = forever)");

  std::string dir, target, range, message, rev_id, head;
  bool verbose = false, indicate = false, splice = false, purge = false;
  std::vector<std::string> revs, labels, depends;

  auto* init = app.add_subcommand("init", "Create a new project skeleton in DIR");
  init->add_option("directory", dir, "Directory to create")->required();

  auto* revision = app.add_subcommand("revision", "Create a new revision file");
  revision->add_option("-m,--message", message, "Message (the file's first comment line)");
  revision->add_option("--rev-id", rev_id, "Revision id to use instead of a random one");
  revision->add_option("--head", head, "Revision the new one builds on (default: the single head)");
  revision->add_flag("--splice", splice, "Allow --head to name a revision that is not a head");
  revision->add_option("--branch-label", labels, "Branch label for the new revision");
  revision->add_option("--depends-on", depends, "Revisions the new one depends on");

  auto* merge = app.add_subcommand("merge", "Create a revision that merges several heads");
  merge->add_option("revisions", revs, "Revisions to merge, or `heads`")->required();
  merge->add_option("-m,--message", message, "Message");
  merge->add_option("--rev-id", rev_id, "Revision id to use instead of a random one");

  commands::MigrateFlags migrate_flags;
  auto* upgrade = app.add_subcommand("upgrade", "Upgrade to a later revision");
  upgrade->add_option("revision", target, "Target: head, heads, an id, +N, id+N; FROM:TO with --sql")
      ->required();
  auto* downgrade = app.add_subcommand("downgrade", "Revert to an earlier revision");
  downgrade->add_option("revision", target, "Target: base, an id, -N, id-N; FROM:TO with --sql")->required();
  downgrade->add_flag("--force", migrate_flags.force,
                      "Downgrade even where the environment sets allow_downgrade = false");
  upgrade->add_flag("--no-validate", migrate_flags.no_validate,
                    "Skip validating the history against the files (config: validate_on_upgrade)");
  for (auto* verb : {upgrade, downgrade}) {
    verb->add_flag("--sql", migrate_flags.sql, "Print the SQL script instead of connecting (offline mode)");
    verb->add_flag("--dry-run", migrate_flags.dry_run,
                   "Run every step in one transaction, show statements and durations, roll back");
  }

  auto* current = app.add_subcommand("current", "Show the database's current revision(s)");
  current->add_flag("-v,--verbose", verbose, "Verbose output");
  auto* history = app.add_subcommand("history", "List revisions, newest first");
  history->add_option("-r,--rev-range", range, "Range A:B (e.g. base:head, -3:, current:)");
  history->add_flag("-v,--verbose", verbose, "Verbose output");
  history->add_flag("-i,--indicate-current", indicate, "Mark the database's current revision (connects)");
  bool applied = false, files_only = false, update_sum = false;
  std::string reason;
  history->add_flag("--applied", applied, "Print the database's history table (applied steps, oldest first)");
  auto* validate = app.add_subcommand("validate", "Check applied revisions' checksums and the history chain");
  validate->add_flag("--files", files_only, "Compare the files with migrations/luamig.sum (no database)");
  validate->add_flag("--update", update_sum, "Rewrite migrations/luamig.sum for the current files");
  auto* repair = app.add_subcommand("repair", "Accept an edited revision file's new checksum");
  repair->add_option("--accept", target, "Revision whose current file is accepted")->required();
  repair->add_option("--reason", reason, "Why (recorded in the history)")->required();
  auto* heads = app.add_subcommand("heads", "Show the heads of the revision graph");
  heads->add_flag("-v,--verbose", verbose, "Verbose output");
  auto* show = app.add_subcommand("show", "Show one revision");
  show->add_option("revision", target, "Revision")->required();
  auto* stamp = app.add_subcommand("stamp", "Set the version table without running migrations");
  stamp->add_option("revisions", revs, "Revision(s)")->required();
  stamp->add_flag("--purge", purge, "Delete every row of the version table first");
  commands::ImportAlembicOptions import_opts;
  auto* import_alembic = app.add_subcommand(
      "import-alembic", "Convert an Alembic versions/ directory into luamig revision files");
  import_alembic
      ->add_option("versions", import_opts.versions_dir, "The Alembic project's versions/ directory")
      ->required();
  import_alembic->add_flag("--dry-run", import_opts.dry_run, "List the files it would write, write nothing");
  import_alembic->add_flag("--force", import_opts.force, "Overwrite existing files");
  auto* check =
      app.add_subcommand("check", "Exit 0 when the database is at head, 1 when not (changes nothing)");
  check->add_option("--wait", check_wait, "Poll until the database is at head, for up to DURATION");

  auto* config_cmd =
      app.add_subcommand("config", "Show the environment and every resolved setting with its source");
  auto* env = app.add_subcommand("env", "Environments: `env show` (same as `config`), `env list`");
  env->require_subcommand(1);
  auto* env_show =
      env->add_subcommand("show", "Show the environment and every resolved setting with its source");
  auto* env_list =
      env->add_subcommand("list", "List the environments of luamig.lua, the selected one marked");

  commands::VerifyOptions verify_opts;
  auto* verify = app.add_subcommand(
      "verify",
      "Prove every revision on a throwaway database: each downgrade must restore the schema before it");
  verify->add_option("--from", verify_opts.from, "First revision's parent (default: base)");
  verify->add_option("--to", verify_opts.to, "Last revision (default: head)");
  verify->add_flag("--data", verify_opts.data, "Fill every table with a few generated rows before each step");
  verify->add_flag("--json", verify_opts.json, "Print the report as JSON");
  verify->add_flag("--force", verify_opts.force, "Accept a --url database that is not empty");
  verify->add_flag("--sqlite", verify_opts.sqlite, "Verify on a temporary SQLite file instead of PostgreSQL");

  commands::TraceOptions trace_opts;
  auto* trace = app.add_subcommand(
      "trace",
      "Run revisions on a throwaway PostgreSQL and report the locks, rewrites and scans of each statement");
  trace->add_option("range", trace_opts.range, "FROM:TO (default base:head), or one revision");
  trace->add_option("--data", trace_opts.data_rows, "Fill every empty table with ROWS generated rows first");
  trace->add_option("--long", trace_opts.long_statement_ms,
                    "Milliseconds from which a statement under ACCESS EXCLUSIVE is flagged (default 1000)");
  trace->add_flag("--json", trace_opts.json, "Print the report as JSON");
  auto* completion = app.add_subcommand("completion", "Print the shell completion script: bash, zsh or fish");
  std::string shell;
  completion->add_option("shell", shell, "bash, zsh or fish")
      ->required()
      ->check(CLI::IsMember({"bash", "zsh", "fish"}));
  auto* editor = app.add_subcommand(
      "editor-support", "Write Lua type annotations (LuaLS/EmmyLua) and a .luarc.json into DIR for editors");
  std::string editor_dir = ".";
  editor->add_option("directory", editor_dir, "Directory (default: the current one)");
  // Hidden: the man page, and the lists shell completion asks for.
  auto* man = app.add_subcommand("man", "Print the luamig.1 man page")->group("");
  auto* list_cmd = app.add_subcommand("list-names", "Names for shell completion")->group("");
  std::string list_what;
  list_cmd->add_option("what", list_what, "revisions or environments")->required();
  commands::LintFlags lint_flags;
  auto* lint = app.add_subcommand("lint", "Check revisions for operations that lock or break production");
  lint->add_option("range", lint_flags.range, "Revisions A:B (default: not applied yet; offline: all)");
  lint->add_flag("--all", lint_flags.all, "Lint every revision, applied or not");
  lint->add_flag("--json", lint_flags.json, "Print the findings as JSON");
  lint->add_flag("--rules", lint_flags.rules, "List the rules with examples");
  lint->add_option("--fail-on", lint_flags.fail_on,
                   "Exit 1 on a finding of this severity or worse: warning|error");

  auto args = protect_relative_targets(argc, argv);
  const std::vector<std::string> in_order = args;
  std::reverse(args.begin(), args.end());  // CLI11 parses a reversed vector
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    if (!explain_unknown(app, in_order)) {
      out::error(fmt::format("ERROR: {}", e.what()));
      out::error("Run `luamig --help` for the verbs and flags.");
    }
    return 2;
  }
  out::configure(g.quiet, g.no_color);
  out::set_json(json_output);
  if (*man) {
    out::data(man_page(app));
    return 0;
  }
  if (*completion) {
    out::data(completion_script(app, shell));
    return 0;
  }
  if (json_output && !(*current || *heads || *history || *show || *check || *config_cmd || *env_show ||
                       *env_list || *upgrade || *downgrade || *list_cmd))
    throw UsageError(
        "--json applies to current, heads, history, show, check, config, env, upgrade and downgrade");
  if (!*init && !*editor) locate_project(g);
  for (const auto& kv : xs) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) throw UsageError(fmt::format("-x '{}': expected KEY=VALUE", kv));
    g.x[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  // Flags for registered settings go in first, so that a later --set of the same key wins.
  if (!wait_for_db.empty()) g.overrides.push_back({"wait_for_db", wait_for_db, "--wait-for-db"});
  if (!lock_timeout.empty())
    g.overrides.push_back({"migration_lock_timeout", lock_timeout, "--lock-timeout"});
  for (const auto& kv : sets) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0)
      throw UsageError(fmt::format("--set '{}': expected KEY=VALUE", kv));
    g.overrides.push_back({kv.substr(0, eq), kv.substr(eq + 1), "--set"});
  }

  if (*init) {
    commands::init(g, dir);
    commands::editor_support(dir);
  } else if (*revision)
    commands::revision(g, {message, rev_id, head, splice, labels, depends});
  else if (*merge)
    commands::merge(g, revs, message, rev_id);
  else if (*upgrade)
    commands::upgrade(g, target, migrate_flags);
  else if (*downgrade)
    commands::downgrade(g, target, migrate_flags);
  else if (*current)
    commands::current(g, verbose);
  else if (*history && applied)
    commands::applied_history(g);
  else if (*history)
    commands::history(g, range, verbose, indicate);
  else if (*validate)
    return commands::validate(g, files_only, update_sum);
  else if (*repair)
    commands::repair(g, target, reason);
  else if (*heads)
    commands::heads(g, verbose);
  else if (*show)
    commands::show(g, target);
  else if (*stamp)
    commands::stamp(g, revs, purge);
  else if (*config_cmd || *env_show)
    commands::show_config(g);
  else if (*env_list)
    commands::list_environments(g);
  else if (*import_alembic)
    commands::import_alembic(g, import_opts);
  else if (*verify)
    return commands::verify(g, verify_opts);
  else if (*trace)
    return commands::trace(g, trace_opts);
  else if (*editor)
    commands::editor_support(editor_dir);
  else if (*list_cmd)
    commands::list_names(g, list_what);
  else if (*lint)
    return commands::lint(g, lint_flags);
  else if (*check)
    return commands::check(
        g, check_wait.empty() ? std::nullopt : std::optional(parse_duration(check_wait, "check --wait")));
  return 0;
}
}  // namespace luamig::cli
