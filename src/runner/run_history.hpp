#pragma once
// The run's side of luamig_history (history/keeper.hpp): whether this command validates the history before it
// runs, the no-op path's check, and the rows each step writes. Null-safe: with `record_history` off, for
// --sql and for a dry run it writes nothing (a dry run still validates, as the real run would).
#include <chrono>
#include <memory>
#include <set>
#include <string>

#include "db/connection.hpp"
#include "graph/revision_map.hpp"
#include "history/keeper.hpp"
#include "runner/migrate.hpp"
#include "runner/project.hpp"

namespace luamig::runner {

class RunHistory {
 public:
  RunHistory(Project& project, const MigrateOptions& options) : project_(project), options_(options) {}

  // upgrade validates first (validate_on_upgrade), unless --no-validate.
  bool validating() const;
  // The no-op path (nothing to run, outside any transaction): true when the history is valid and has no row
  // owed, so "Nothing to do" may be answered without the lock. Throws RunError when validation fails.
  bool up_to_date(db::Connection& conn, const std::set<std::string>& heads);
  // Under the lock, before the first step: validates, and writes the rows owed (baseline, external).
  void start(db::Connection& conn, const graph::RevisionMap& map, const std::set<std::string>& heads);
  // In the step's transaction, after its version row (deferred: see Connection::defer).
  void step_applied(const graph::Step& step, const std::set<std::string>& before,
                    const std::set<std::string>& after, std::chrono::system_clock::time_point started);
  // After the step's rollback, in a transaction of its own; nothing when the connection is gone.
  void step_failed(db::Connection& conn, const graph::Step& step, const std::set<std::string>& heads,
                   std::chrono::system_clock::time_point started, const std::string& sqlstate,
                   const std::string& message);
  void finish();

 private:
  const config::Config& cfg() const { return project_.cfg; }
  Project& project_;
  const MigrateOptions& options_;
  std::unique_ptr<history::HistoryKeeper> keeper_;  // null when this run writes no history
};
}  // namespace luamig::runner
