#pragma once
// HistoryKeeper: what the run loop (runner/migrate.cpp) calls to keep luamig_history. Four hook points:
//   start()         under the migration lock, after the version table was read: validates (unless disabled)
//                   and notes the rows owed to the past (a `baseline` row for a database taken over from
//                   Alembic; `external-upgrade`/`external-downgrade` rows for revisions Alembic or `stamp`
//                   moved without luamig);
//   step_applied()  inside the step's open transaction, after the version table changed, before commit: the
//                   owed rows, then the step's row (the table is created here, in that transaction, when the
//                   first step needs it);
//   step_failed()   after the step's transaction was rolled back: one `failed` row in a transaction of its
//   own; finish()        after the last step: owed rows that no step wrote, in a transaction of their own.
// Nothing is written by a dry run or an --sql script (see README, "History and checksums").
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "db/connection.hpp"
#include "graph/plan.hpp"
#include "graph/revision_map.hpp"
#include "history/file_checksums.hpp"
#include "history/table.hpp"
#include "history/validate.hpp"

namespace luamig::history {

// The history table's name and schema from the config (history_table, history_table_schema: default the
// version table's schema).
// Revision id -> file path from the header cache (scripts/cache.hpp) of `versions_dir`, without parsing any
// revision file; only entries whose file still has the cached size and mtime are trusted by the caller
// (remembered heads guarantee it).
std::map<std::string, std::string> paths_from_header_cache(const std::filesystem::path& versions_dir);

// The user recorded in history rows: PostgreSQL's current_user; for SQLite, the operating-system user.
std::string database_user(db::Connection& conn);

HistoryTable open_table(db::Connection& conn, const config::Config& cfg);

// Lines for a validation report; returns whether it passed (errors print as "ERROR: ...", warnings as
// "WARNING: ..." on stderr).
bool print_report(const Report& report, bool comments_only_is_error = false);

// Validates the database's history against the files: reads the rows (none when the table is missing).
Report validate_database(db::Connection& conn, const config::Config& cfg, const graph::RevisionMap& map,
                         const std::set<std::string>& version_heads, FileChecksumCache& files);

class HistoryKeeper {
 public:
  HistoryKeeper(db::Connection& conn, const config::Config& cfg, bool validate);
  // Throws RunError (exit 1) when validation fails, after printing the findings. `fast` (the no-op path,
  // outside any transaction) only validates.
  void start(const graph::RevisionMap& map, const std::set<std::string>& heads);
  // The no-op path (nothing to run, outside any transaction): validates like start() with `path_of(id)`
  // giving a revision's file ("" = not in the graph). Returns true when the history is valid and up to date,
  // false when rows are owed (baseline/external: the full path must write them), nullopt when `path_of` did
  // not know an applied revision (the caller retries with the graph). Throws RunError like start().
  // `known(id)` tells whether a version-table revision is in the graph.
  std::optional<bool> check_noop(const std::function<std::optional<std::string>(const std::string&)>& path_of,
                                 const std::function<bool(const std::string&)>& known,
                                 const std::set<std::string>& heads);
  // True when start() found rows owed (baseline/external): the no-op path must go the full way to write them.
  bool owes_rows() const { return !owed_.empty(); }
  void step_applied(const graph::Step& step, const std::set<std::string>& before,
                    const std::set<std::string>& after, std::chrono::system_clock::time_point started);
  void step_failed(const graph::Step& step, const std::set<std::string>& heads,
                   std::chrono::system_clock::time_point started, const std::string& sqlstate,
                   const std::string& message);
  void finish();

 private:
  Row base_row(std::chrono::system_clock::time_point started);
  void write_owed();
  std::optional<FileChecksums> sums_of(const graph::Revision& r);
  db::Connection& conn_;
  const config::Config& cfg_;
  bool validate_;
  HistoryTable table_;
  FileChecksumCache files_;
  std::vector<Row> owed_;
  long long start_seq_ = 0;
  bool existed_at_start_ = false;
  std::optional<std::string> db_user_;
};
}  // namespace luamig::history
