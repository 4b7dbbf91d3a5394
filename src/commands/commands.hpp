#pragma once
// One function per CLI verb. Each takes the global options and its own; errors are thrown as luamig::Error
// (exit 1 or 2) or graph::GraphError (exit 2).
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace luamig::commands {

void init(const config::GlobalOptions&, const std::string& directory);

struct RevisionOptions {
  std::string message;
  std::string rev_id;  // "" = 12 random hex digits
  std::string head;    // "" = the single current head
  bool splice = false;
  std::vector<std::string> branch_labels;
  std::vector<std::string> depends_on;
};
void revision(const config::GlobalOptions&, const RevisionOptions&);

void merge(const config::GlobalOptions&, const std::vector<std::string>& revisions,
           const std::string& message, const std::string& rev_id);

// How upgrade/downgrade run: --sql prints the SQL script without connecting; --dry-run runs everything in one
// transaction and rolls it back. At most one of them. `force` (downgrade only) overrides
// allow_downgrade = false.
struct MigrateFlags {
  bool sql = false;
  bool dry_run = false;
  bool force = false;
  bool no_validate = false;
};
void upgrade(const config::GlobalOptions&, const std::string& target, const MigrateFlags& flags = {});
void downgrade(const config::GlobalOptions&, const std::string& target, const MigrateFlags& flags = {});

void current(const config::GlobalOptions&, bool verbose);
void history(const config::GlobalOptions&, const std::string& range, bool verbose, bool indicate_current);
void heads(const config::GlobalOptions&, bool verbose);
void show(const config::GlobalOptions&, const std::string& revision);
void stamp(const config::GlobalOptions&, const std::vector<std::string>& revisions, bool purge);

// `luamig config` / `luamig env show`: the selected environment and every resolved setting with its source.
void show_config(const config::GlobalOptions&);
// `luamig env list`: the environments the config file defines, the selected one marked.
void list_environments(const config::GlobalOptions&);

// Returns 0 when the database's version table holds exactly the graph's heads, 1 otherwise (printing how far
// it is). With `wait`, polls until it is at head or the time is up, treating an unreachable server as "not
// yet". Never creates the version table; never takes the migration lock.
int check(const config::GlobalOptions&, std::optional<std::chrono::milliseconds> wait);

// `luamig editor-support DIR` (and `luamig init`): writes the LuaLS/EmmyLua type annotations of op, context,
// log and luamig.backfill to DIR/.luamig/types/luamig.lua, and DIR/.luarc.json pointing at them unless one
// exists.
void editor_support(const std::string& directory);
// `luamig list-names revisions|environments` (hidden; for shell completion): one name per line on stdout.
void list_names(const config::GlobalOptions&, const std::string& what);
// History (history/*.hpp). `validate`: exit 1 on any error finding. With `files_only`, compares the files
// with <script_location>/luamig.sum and needs no database; `update` rewrites luamig.sum instead.
int validate(const config::GlobalOptions&, bool files_only, bool update);
// Records the current checksum of REV's file as a `repair` row. REQUIRES: a non-empty reason.
void repair(const config::GlobalOptions&, const std::string& revision, const std::string& reason);
// `history --applied`: the history table's rows, oldest first.
void applied_history(const config::GlobalOptions&);
// Rewrites luamig.sum after `revision`/`merge` (best effort: a warning on failure).
void update_sum_file(const config::Config& cfg);
}  // namespace luamig::commands
