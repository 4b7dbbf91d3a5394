// All verbs are bound in this one file: CLI11 is header-only and slow to compile, so one translation unit keeps
// the build fast. Each verb is a few lines: options into a struct, then one call into commands/.
#include "cli/cli.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstring>
#include <regex>

#include "commands/commands.hpp"
#include "util/duration.hpp"
#include "util/error.hpp"
#include "util/output.hpp"

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
}  // namespace

int run(int argc, char** argv) {
  CLI::App app{"luamig: database migrations in Lua, compatible with Alembic's version table", "luamig"};
  app.require_subcommand(1);
  app.fallthrough();
  config::GlobalOptions g;
  std::vector<std::string> xs, sets;
  app.set_version_flag("--version", std::string("luamig ") + LUAMIG_VERSION);
  app.add_option("-c,--config", g.config_path, "Config file (default: $LUAMIG_CONFIG or ./luamig.lua)");
  app.add_option("--url", g.url, "Database URL (overrides the config file and $DATABASE_URL)");
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
  upgrade->add_option("revision", target, "Target: head, heads, an id, +N, id+N; FROM:TO with --sql")->required();
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
  auto* check = app.add_subcommand("check", "Exit 0 when the database is at head, 1 when not (changes nothing)");
  check->add_option("--wait", check_wait, "Poll until the database is at head, for up to DURATION");

  auto* config_cmd =
      app.add_subcommand("config", "Show the environment and every resolved setting with its source");
  auto* env = app.add_subcommand("env", "Environments: `env show` (same as `config`), `env list`");
  env->require_subcommand(1);
  auto* env_show =
      env->add_subcommand("show", "Show the environment and every resolved setting with its source");
  auto* env_list =
      env->add_subcommand("list", "List the environments of luamig.lua, the selected one marked");

  auto args = protect_relative_targets(argc, argv);
  std::reverse(args.begin(), args.end());   // CLI11 parses a reversed vector
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
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
  out::configure(g.quiet, g.no_color);

  if (*init) commands::init(g, dir);
  else if (*revision) commands::revision(g, {message, rev_id, head, splice, labels, depends});
  else if (*merge) commands::merge(g, revs, message, rev_id);
  else if (*upgrade) commands::upgrade(g, target, migrate_flags);
  else if (*downgrade) commands::downgrade(g, target, migrate_flags);
  else if (*current) commands::current(g, verbose);
  else if (*history && applied)
    commands::applied_history(g);
  else if (*history) commands::history(g, range, verbose, indicate);
  else if (*validate)
    return commands::validate(g, files_only, update_sum);
  else if (*repair)
    commands::repair(g, target, reason);
  else if (*heads) commands::heads(g, verbose);
  else if (*show) commands::show(g, target);
  else if (*stamp) commands::stamp(g, revs, purge);
  else if (*config_cmd || *env_show) commands::show_config(g);
  else if (*env_list) commands::list_environments(g);
  else if (*check)
    return commands::check(g, check_wait.empty() ? std::nullopt
                                                 : std::optional(parse_duration(check_wait, "check --wait")));
  return 0;
}
}  // namespace luamig::cli
