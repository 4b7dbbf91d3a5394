#include "history/validate.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "util/output.hpp"

namespace luamig::history {

bool Report::ok() const {
  for (const auto& f : findings)
    if (f.error()) return false;
  return true;
}

std::string heads_text(const std::set<std::string>& heads) {
  std::string out;
  for (const auto& h : heads) out += (out.empty() ? "" : ",") + h;
  return out;
}

std::set<std::string> heads_from_text(const std::string& text) {
  std::set<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    auto comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    if (comma > start) out.insert(text.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

std::optional<Finding> verify_chain(const std::vector<Row>& rows) {
  std::string previous = kGenesisChain;
  long long expected_seq = 1;
  for (const auto& r : rows) {
    // Values read from the database are printed escaped (out::escape): a row cannot forge a line.
    const std::string what =
        fmt::format("history row seq {} (revision {}, {})", r.seq,
                    r.revision.empty() ? "-" : out::escape(r.revision), out::escape(r.kind));
    if (r.seq != expected_seq)
      return Finding{
          Finding::Kind::ChainBroken, r.revision, r.seq,
          fmt::format("{}: expected seq {}: a row before it was deleted or renumbered", what, expected_seq)};
    if (chain_of(previous, r) != r.chain)
      return Finding{
          Finding::Kind::ChainBroken, r.revision, r.seq,
          fmt::format("{}: chain mismatch: this row was edited, or the rows before it were edited, "
                      "deleted or reordered",
                      what)};
    previous = r.chain;
    ++expected_seq;
  }
  return std::nullopt;
}

std::vector<Applied> applied_revisions(const std::vector<Row>& rows) {
  std::map<std::string, Applied> applied;
  std::vector<std::string> order;
  for (const auto& r : rows) {
    if (r.outcome != "success" || r.revision.empty()) continue;
    if (r.kind == "upgrade" || r.kind == "external-upgrade" || r.kind == "repair") {
      if (!applied.count(r.revision)) order.push_back(r.revision);
      applied[r.revision] = {r.revision, r.seq, r.checksum, r.normalised, r.checksum_algorithm};
    } else if (r.kind == "downgrade" || r.kind == "external-downgrade") {
      applied.erase(r.revision);
    }
  }
  std::vector<Applied> out;
  std::set<std::string> seen;
  for (const auto& id : order)
    if (auto it = applied.find(id); it != applied.end() && seen.insert(id).second) out.push_back(it->second);
  std::sort(out.begin(), out.end(), [](const Applied& a, const Applied& b) { return a.seq < b.seq; });
  return out;
}

Report validate(const std::vector<Row>& rows, const std::set<std::string>& version_heads,
                const graph::RevisionMap& map, const FileLookup& files) {
  std::vector<std::string> known_heads;
  for (const auto& h : version_heads)
    if (map.find(h)) known_heads.push_back(h);
  const auto applied_now = map.ancestors_inclusive(known_heads);
  return validate(
      rows, version_heads, [&](const std::string& id) { return map.find(id) != nullptr; }, files,
      &applied_now);
}

Report validate(const std::vector<Row>& rows, const std::set<std::string>& version_heads,
                const std::function<bool(const std::string&)>& known, const FileLookup& files,
                const std::set<std::string>* applied_now) {
  Report report;
  report.rows = rows.size();
  if (auto broken = verify_chain(rows)) {
    broken->message +=
        ". Restore the table from a backup, or investigate who changed it; luamig cannot trust "
        "the history from this row on";
    report.findings.push_back(*broken);
  }
  for (const auto& a : applied_revisions(rows)) {
    if (applied_now && !applied_now->count(a.revision) && known(a.revision)) continue;
    auto file = files(a.revision);
    if (!file) {
      report.findings.push_back(
          {Finding::Kind::Missing, a.revision, a.seq,
           fmt::format(
               "revision {} is applied (history row seq {}) but has no file in the versions directory: "
               "restore the file from version control",
               out::escape(a.revision), a.seq)});
      continue;
    }
    if (!a.checksum) continue;
    ++report.checked;
    if (a.algorithm != kChecksumAlgorithm) {
      report.findings.push_back(
          {Finding::Kind::AlgorithmOld, a.revision, a.seq,
           fmt::format(
               "{}: revision {} was recorded with checksum algorithm {} (now {}); not compared. `luamig "
               "repair --accept {} --reason \"checksum algorithm upgrade\"` records the new checksum",
               file->path, a.revision, a.algorithm, kChecksumAlgorithm, a.revision)});
      continue;
    }
    if (*a.checksum == file->sums.checksum) continue;
    if (a.normalised && *a.normalised == file->sums.normalised) {
      report.findings.push_back(
          {Finding::Kind::CommentsOnly, a.revision, a.seq,
           fmt::format("{}: revision {} changed since it was applied (history row seq {}), in comments or "
                       "whitespace only; `luamig repair --accept {} --reason TEXT` records the new checksum",
                       file->path, a.revision, a.seq, a.revision)});
      continue;
    }
    report.findings.push_back(
        {Finding::Kind::Edited, a.revision, a.seq,
         fmt::format(
             "{}: revision {} was edited after it was applied (history row seq {}): checksum {} recorded, "
             "{} now. Revert the file (git checkout), or accept it with `luamig repair --accept {} "
             "--reason TEXT` if the change is intended and the database matches it",
             file->path, a.revision, a.seq, a.checksum->substr(0, 12), file->sums.checksum.substr(0, 12),
             a.revision)});
  }
  for (const auto& h : version_heads)
    if (!known(h))
      report.findings.push_back(
          {Finding::Kind::Unknown, h, 0,
           fmt::format(
               "revision {} is in the version table but not in the revision graph: restore its file, or "
               "`luamig stamp` the database to a known revision",
               out::escape(h))});
  if (!rows.empty() && heads_from_text(rows.back().heads_after) != version_heads)
    report.findings.push_back(
        {Finding::Kind::External, "", rows.back().seq,
         fmt::format(
             "the version table ({}) moved since the last history row (heads {}) without luamig (Alembic "
             "or `stamp`): the next upgrade records it as external rows",
             version_heads.empty() ? "empty" : out::escape(heads_text(version_heads)),
             rows.back().heads_after.empty() ? "base" : out::escape(rows.back().heads_after))});
  return report;
}
}  // namespace luamig::history
