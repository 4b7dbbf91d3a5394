// check: is the database at the head(s) of the revision graph? For readiness probes, CI, and application
// replicas that wait for another process to migrate. Never creates the version table, never takes the
// migration lock.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <set>

#include "commands/commands.hpp"
#include "db/connection.hpp"
#include "db/version_table.hpp"
#include "graph/overlap.hpp"
#include "graph/plan.hpp"
#include "runner/project.hpp"
#include "runner/session.hpp"
#include "util/duration.hpp"
#include "util/interrupt.hpp"
#include "util/json.hpp"
#include "util/output.hpp"

namespace luamig::commands {
namespace {
using Heads = std::set<std::string>;

// Ids from the database are escaped: a row of alembic_version may hold anything.
std::string list(const Heads& heads) {
  if (heads.empty()) return "base";
  std::string text;
  for (const auto& id : heads) text += (text.empty() ? "" : ", ") + out::escape(id);
  return text;
}

// --json: the one object check prints.
void report_json(const graph::RevisionMap& map, const Heads& current, const Heads& head, bool at_head,
                 const std::string& error) {
  if (!out::json()) return;
  json::Object o;
  o.add("at_head", at_head)
      .add("current", std::vector<std::string>(current.begin(), current.end()))
      .add("heads", std::vector<std::string>(head.begin(), head.end()));
  bool known = true;
  for (const auto& id : current) known = known && map.find(id) != nullptr;
  std::optional<long long> pending;
  if (known) {
    try {
      pending = static_cast<long long>(graph::plan_upgrade(map, current, "heads").size());
    } catch (const std::exception&) {
    }
  }
  if (pending)
    o.add("pending", *pending);
  else
    o.add_null("pending");
  if (!error.empty()) o.add("error", error);
  out::json_line(o.str());
}

// One line saying how far the database is from head.
std::string distance(const graph::RevisionMap& map, const Heads& current, const Heads& head) {
  for (const auto& id : current)
    if (!map.find(id))
      return fmt::format(
          "the database is at {}, which no revision file here defines (applied by a newer "
          "release?); head is {}",
          list(current), list(head));
  std::string pending;
  try {
    auto steps = graph::plan_upgrade(map, current, "heads");
    pending = fmt::format(" ({} revision{} to apply)", steps.size(), steps.size() == 1 ? "" : "s");
  } catch (const std::exception&) {
    pending = " (not reachable by upgrade: downgrade or stamp needed)";
  }
  return fmt::format("the database is at {}; head is {}{}", list(current), list(head), pending);
}

Heads read_heads(runner::Project& project, db::Connection& conn) {
  db::VersionTable vt(conn, project.cfg.version_table, project.cfg.version_table_schema);
  auto rows = vt.heads();
  graph::check_rows_do_not_overlap(project.load_graph(), rows, project.cfg.version_table);
  return {rows.begin(), rows.end()};
}
}  // namespace

int check(const config::GlobalOptions& opts, std::optional<std::chrono::milliseconds> wait) {
  using Clock = std::chrono::steady_clock;
  auto project = runner::Project::open(opts);
  const auto& map = project.load_graph();
  auto head_ids = map.heads();
  const Heads head(head_ids.begin(), head_ids.end());

  if (!wait) {
    auto conn = runner::connect(project, true);
    auto current = read_heads(project, *conn);
    report_json(map, current, head, current == head, "");
    if (current == head) {
      out::line(fmt::format("At head: {}", list(head)));
      return 0;
    }
    out::line("Not at head: " + distance(map, current, head));
    return 1;
  }

  // Waiting: an unreachable server or a missing version table is "not yet", not a failure.
  const auto started = Clock::now();
  const auto deadline = started + *wait;
  auto url = project.database_url();
  url.read_only = true;
  out::line(fmt::format("Waiting up to {} for the database to reach head ({})", format_duration(*wait),
                        list(head)));
  std::unique_ptr<db::Connection> conn;
  std::string last;
  Heads last_current;
  for (;;) {
    try {
      if (!conn || !conn->is_open()) conn = db::connect(url);
      auto current = read_heads(project, *conn);
      last_current = current;
      if (current == head) {
        report_json(map, current, head, true, "");
        out::line(fmt::format("At head: {} (after {})", list(head), format_duration(Clock::now() - started)));
        return 0;
      }
      last = distance(map, current, head);
    } catch (const std::exception& e) {
      conn.reset();
      last = e.what();
    }
    auto now = Clock::now();
    if (now >= deadline) {
      report_json(map, last_current, head, false, last);
      out::error(fmt::format("Not at head after waiting {}: {}", format_duration(now - started), last));
      return 1;
    }
    auto pause = std::min(std::chrono::milliseconds(500),
                          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now));
    interrupt::sleep_for(pause);
  }
}
}  // namespace luamig::commands
