#include "runner/run_history.hpp"

#include <map>
#include <optional>

#include "history/file_checksums.hpp"
#include "util/output.hpp"

namespace luamig::runner {

bool RunHistory::validating() const {
  return options_.record_history && options_.direction == graph::Direction::Up && !options_.no_validate &&
         project_.cfg.settings.boolean("validate_on_upgrade");
}

// One read of the history table and one stat per applied file (checksums are cached by size and mtime).
// Without the graph loaded (remembered heads), file paths come from the header cache. False when rows are
// owed (baseline, external): the full path writes them.
bool RunHistory::up_to_date(db::Connection& conn, const std::set<std::string>& heads) {
  history::HistoryKeeper keeper(conn, cfg(), true);
  if (!project_.map) {
    // At the remembered heads: the heads are in the graph; the header cache is read only when an applied
    // revision's file is needed.
    std::optional<std::map<std::string, std::string>> paths;
    auto from_cache = [&](const std::string& id) -> std::optional<std::string> {
      if (!paths) paths = history::paths_from_header_cache(cfg().versions_dir());
      auto it = paths->find(id);
      if (it == paths->end()) return std::nullopt;
      return it->second;
    };
    if (auto ok = keeper.check_noop(
            from_cache, [](const std::string&) { return true; }, heads))
      return *ok;
  }
  const auto& map = project_.load_graph();
  auto from_graph = [&](const std::string& id) -> std::optional<std::string> {
    const auto* r = map.find(id);
    if (!r) return std::nullopt;
    return r->path;
  };
  auto known = [&](const std::string& id) { return map.find(id) != nullptr; };
  return keeper.check_noop(from_graph, known, heads).value_or(false);
}

void RunHistory::start(db::Connection& conn, const graph::RevisionMap& map,
                       const std::set<std::string>& heads) {
  if (!options_.record_history) return;
  if (options_.dry_run) {  // validates as the real run would, and records nothing
    if (validating()) history::HistoryKeeper(conn, cfg(), true).start(map, heads);
    return;
  }
  if (options_.no_validate && options_.direction == graph::Direction::Up)
    out::warn("Validation of the history skipped (--no-validate)");
  keeper_ = std::make_unique<history::HistoryKeeper>(conn, cfg(), validating());
  keeper_->start(map, heads);
}

void RunHistory::step_applied(const graph::Step& step, const std::set<std::string>& before,
                              const std::set<std::string>& after,
                              std::chrono::system_clock::time_point started) {
  if (keeper_) keeper_->step_applied(step, before, after, started);
}

void RunHistory::step_failed(db::Connection& conn, const graph::Step& step,
                             const std::set<std::string>& heads,
                             std::chrono::system_clock::time_point started, const std::string& sqlstate,
                             const std::string& message) {
  if (keeper_ && conn.is_open() && !db::is_connection_loss(sqlstate))
    keeper_->step_failed(step, heads, started, sqlstate, message);
}

void RunHistory::finish() {
  if (keeper_) keeper_->finish();
}
}  // namespace luamig::runner
