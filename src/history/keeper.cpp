#include "history/keeper.hpp"

#include <fmt/format.h>
#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>

#include "scripts/cache.hpp"
#include "util/error.hpp"
#include "util/output.hpp"

namespace luamig::history {
namespace {
// SQLite has no database user: the operating-system user running luamig.
std::string os_user() {
  if (const auto* pw = getpwuid(geteuid()); pw && pw->pw_name) return pw->pw_name;
  if (const char* u = std::getenv("USER")) return u;
  return "";
}

std::string local_host() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

std::string time_text(std::chrono::system_clock::time_point t) {
  auto secs = std::chrono::system_clock::to_time_t(t);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:03d}Z", buf, static_cast<int>(ms));
}
}  // namespace

std::string database_user(db::Connection& conn) {
  if (auto sql = conn.dialect().current_user_query(); !sql.empty()) {
    auto r = conn.fetch(sql);
    if (!r.empty() && r[0][0]) return *r[0][0];
    return "";
  }
  return os_user();
}

HistoryTable open_table(db::Connection& conn, const config::Config& cfg) {
  auto name = cfg.settings.text("history_table").value_or("luamig_history");
  auto schema = cfg.settings.text("history_table_schema").value_or(cfg.version_table_schema);
  return HistoryTable(conn, name, schema);
}

bool print_report(const Report& report, bool comments_only_is_error) {
  bool ok = true;
  for (const auto& f : report.findings) {
    bool error = f.error() || (comments_only_is_error && f.kind == Finding::Kind::CommentsOnly);
    if (error) {
      ok = false;
      out::error("ERROR: " + f.message);
    } else {
      out::warn("WARNING: " + f.message);
    }
  }
  return ok;
}

Report validate_database(db::Connection& conn, const config::Config& cfg, const graph::RevisionMap& map,
                         const std::set<std::string>& version_heads, FileChecksumCache& files) {
  auto table = open_table(conn, cfg);
  std::vector<Row> rows;
  if (table.exists()) rows = table.rows();
  auto report = validate(rows, version_heads, map, [&](const std::string& id) -> std::optional<CurrentFile> {
    const auto* r = map.find(id);
    if (!r) return std::nullopt;
    auto sums = files.get(r->path);
    if (!sums) return std::nullopt;
    return CurrentFile{r->path, *sums};
  });
  files.save();
  return report;
}

HistoryKeeper::HistoryKeeper(db::Connection& conn, const config::Config& cfg, bool validate)
    : conn_(conn),
      cfg_(cfg),
      validate_(validate),
      table_(open_table(conn, cfg)),
      files_(cfg.versions_dir()) {}

std::optional<FileChecksums> HistoryKeeper::sums_of(const graph::Revision& r) { return files_.get(r.path); }

Row HistoryKeeper::base_row(std::chrono::system_clock::time_point started) {
  if (!db_user_) {
    db_user_ = database_user(conn_);
  }
  Row row;
  row.outcome = "success";
  row.checksum_algorithm = kChecksumAlgorithm;
  row.started_at = time_text(started);
  auto now = std::chrono::system_clock::now();
  row.finished_at = time_text(now);
  row.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now - started).count();
  row.db_user = *db_user_;
  row.client_host = local_host();
  row.luamig_version = LUAMIG_VERSION;
  row.environment = cfg_.environment;
  return row;
}

std::map<std::string, std::string> paths_from_header_cache(const std::filesystem::path& versions_dir) {
  std::map<std::string, std::string> out;
  scripts::HeaderCache cache(versions_dir / ".luamig-cache");
  for (const auto& e : cache.entries()) out[std::string(e.fields[0])] = (versions_dir / e.name).string();
  return out;
}

namespace {
void fail_on(const Report& report) {
  std::vector<Finding> shown;
  for (const auto& f : report.findings)
    if (f.kind != Finding::Kind::External) shown.push_back(f);  // recorded as rows instead
  if (!print_report(Report{shown, report.rows, report.checked}))
    throw RunError(
        "validation failed: nothing was changed. Fix the findings above, or pass --no-validate to upgrade "
        "anyway "
        "(validate_on_upgrade = false turns the check off)");
}
}  // namespace

std::optional<bool> HistoryKeeper::check_noop(
    const std::function<std::optional<std::string>(const std::string&)>& path_of,
    const std::function<bool(const std::string&)>& known, const std::set<std::string>& heads) {
  auto read = table_.rows_if_exists();
  if (!read || read->empty()) return heads.empty();
  const auto& rows = *read;
  // The version table moved without luamig: the full path validates with the graph and records the move.
  if (heads_from_text(rows.back().heads_after) != heads) return false;
  bool unknown_applied = false;
  auto report = validate(rows, heads, known, [&](const std::string& id) -> std::optional<CurrentFile> {
    auto path = path_of(id);
    if (!path) {
      unknown_applied = true;
      return std::nullopt;
    }
    auto sums = files_.get(*path);
    if (!sums) return std::nullopt;
    return CurrentFile{*path, *sums};
  });
  files_.save();
  if (unknown_applied) return std::nullopt;
  fail_on(report);
  return heads_from_text(rows.back().heads_after) == heads;
}

void HistoryKeeper::start(const graph::RevisionMap& map, const std::set<std::string>& heads) {
  owed_.clear();
  const bool exists = table_.exists();
  existed_at_start_ = exists;
  std::vector<Row> rows;
  if (exists) rows = table_.rows();
  start_seq_ = rows.empty() ? 0 : rows.back().seq;
  if (validate_) {
    auto report = validate(rows, heads, map, [&](const std::string& id) -> std::optional<CurrentFile> {
      const auto* r = map.find(id);
      if (!r) return std::nullopt;
      auto sums = files_.get(r->path);
      if (!sums) return std::nullopt;
      return CurrentFile{r->path, *sums};
    });
    files_.save();
    fail_on(report);
  }
  const auto now = std::chrono::system_clock::now();
  if (!exists || rows.empty()) {
    if (heads.empty()) return;
    // Taken over: the revisions applied before luamig kept history are summed up by one baseline row.
    Row r = base_row(now);
    r.kind = "baseline";
    r.heads_after = heads_text(heads);
    r.message = "history starts here: the version table already held " + heads_text(heads);
    owed_.push_back(r);
    return;
  }
  auto last = heads_from_text(rows.back().heads_after);
  if (last == heads) return;
  std::vector<std::string> last_v(last.begin(), last.end()), now_v(heads.begin(), heads.end());
  std::set<std::string> before, after;
  for (const auto& id : last_v)
    if (!map.find(id)) return;  // unknown revisions: reported by validation; nothing to compute from
  for (const auto& id : now_v)
    if (!map.find(id)) return;
  before = map.ancestors_inclusive(last_v);
  after = map.ancestors_inclusive(now_v);
  auto ordered = map.ordered();
  // Downgrades first, newest first; then upgrades, oldest first.
  for (auto it = ordered.rbegin(); it != ordered.rend(); ++it) {
    const auto& id = (*it)->id;
    if (!before.count(id) || after.count(id)) continue;
    Row r = base_row(now);
    r.kind = "external-downgrade";
    r.revision = id;
    r.heads_before = heads_text(last);
    r.heads_after = heads_text(heads);
    r.message = "applied without luamig (Alembic, --sql script or stamp)";
    owed_.push_back(r);
  }
  for (const auto* rev : ordered) {
    if (before.count(rev->id) || !after.count(rev->id)) continue;
    Row r = base_row(now);
    r.kind = "external-upgrade";
    r.revision = rev->id;
    if (auto sums = sums_of(*rev)) {
      r.checksum = sums->checksum;
      r.normalised = sums->normalised;
    }
    r.heads_before = heads_text(last);
    r.heads_after = heads_text(heads);
    r.message = "applied without luamig (Alembic, --sql script or stamp)";
    owed_.push_back(r);
  }
  if (!owed_.empty()) owed_.back().heads_after = heads_text(heads);
}

// The owed rows go first, once: they are there when the table grew past what start() saw (a step that wrote
// them committed, or the open transaction holds them). After a rollback they are written again.
void HistoryKeeper::write_owed() {
  if (owed_.empty()) return;
  table_.ensure();
  if (table_.last_seq() != start_seq_) return;
  for (auto& r : owed_) table_.append(r);
}

void HistoryKeeper::step_applied(const graph::Step& step, const std::set<std::string>& before,
                                 const std::set<std::string>& after,
                                 std::chrono::system_clock::time_point started) {
  // A table that existed before the run cannot vanish under the lock; one created by this run may have been
  // rolled back with a retried attempt, so it is looked up again.
  if (!existed_at_start_) table_.ensure();
  write_owed();
  Row r = base_row(started);
  r.revision = step.revision->id;
  r.kind = step.direction == graph::Direction::Up ? "upgrade" : "downgrade";
  r.heads_before = heads_text(before);
  r.heads_after = heads_text(after);
  if (auto sums = sums_of(*step.revision)) {
    r.checksum = sums->checksum;
    r.normalised = sums->normalised;
  }
  table_.append(r);
}

void HistoryKeeper::step_failed(const graph::Step& step, const std::set<std::string>& heads,
                                std::chrono::system_clock::time_point started, const std::string& sqlstate,
                                const std::string& message) {
  try {
    conn_.begin();
    table_.ensure();
    write_owed();
    Row r = base_row(started);
    r.revision = step.revision->id;
    r.kind = step.direction == graph::Direction::Up ? "upgrade" : "downgrade";
    r.outcome = "failed";
    r.heads_before = heads_text(heads);
    r.heads_after = heads_text(heads);
    if (auto sums = sums_of(*step.revision)) {
      r.checksum = sums->checksum;
      r.normalised = sums->normalised;
    }
    if (!sqlstate.empty()) r.sqlstate = sqlstate;
    r.message = message;
    table_.append(r);
    conn_.commit();
  } catch (const std::exception& e) {
    conn_.rollback();
    out::warn(
        fmt::format("WARNING: could not record the failure in {}: {}", table_.qualified_name(), e.what()));
  }
}

void HistoryKeeper::finish() {
  files_.save();
  if (owed_.empty() || (table_.exists() && table_.last_seq() != start_seq_)) return;
  conn_.begin();
  try {
    write_owed();
    conn_.commit();
  } catch (...) {
    conn_.rollback();
    throw;
  }
}
}  // namespace luamig::history
