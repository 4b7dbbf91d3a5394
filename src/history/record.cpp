#include "history/record.hpp"

#include <fmt/format.h>

#include <chrono>
#include <ctime>

#include "util/sha256.hpp"

namespace luamig::history {

const std::vector<std::string>& field_names() {
  static const std::vector<std::string> names = {
      "seq",         "revision",   "kind",          "outcome",        "heads_before", "heads_after",
      "checksum",    "normalised", "checksum_algo", "plan_checksum",  "started_at",   "finished_at",
      "duration_ms", "db_user",    "client_host",   "luamig_version", "environment",  "sqlstate",
      "message"};
  return names;
}

std::vector<std::optional<std::string>> fields_of(const Row& r) {
  return {std::to_string(r.seq),
          r.revision,
          r.kind,
          r.outcome,
          r.heads_before,
          r.heads_after,
          r.checksum,
          r.normalised,
          std::to_string(r.checksum_algorithm),
          r.plan_checksum,
          r.started_at,
          r.finished_at,
          std::to_string(r.duration_ms),
          r.db_user,
          r.client_host,
          r.luamig_version,
          r.environment,
          r.sqlstate,
          r.message};
}

Row row_from_fields(const std::vector<std::optional<std::string>>& f) {
  auto text = [&](size_t i) { return i < f.size() && f[i] ? *f[i] : std::string(); };
  auto num = [&](size_t i) { return i < f.size() && f[i] && !f[i]->empty() ? std::stoll(*f[i]) : 0LL; };
  Row r;
  r.seq = num(0);
  r.revision = text(1);
  r.kind = text(2);
  r.outcome = text(3);
  r.heads_before = text(4);
  r.heads_after = text(5);
  r.checksum = f[6];
  r.normalised = f[7];
  r.checksum_algorithm = static_cast<int>(num(8));
  r.plan_checksum = f[9];
  r.started_at = text(10);
  r.finished_at = text(11);
  r.duration_ms = num(12);
  r.db_user = text(13);
  r.client_host = text(14);
  r.luamig_version = text(15);
  r.environment = text(16);
  r.sqlstate = f[17];
  r.message = f[18];
  if (f.size() > 19) r.chain = text(19);
  return r;
}

std::string encode(const Row& r) {
  std::string out;
  for (const auto& f : fields_of(r)) {
    if (!f) {
      out += "-,";
      continue;
    }
    out += std::to_string(f->size());
    out += ':';
    out += *f;
    out += ',';
  }
  return out;
}

std::string chain_of(const std::string& previous_chain, const Row& r) {
  return sha256_hex(previous_chain + encode(r));
}

std::string utc_now() {
  auto now = std::chrono::system_clock::now();
  auto secs = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:03d}Z", buf, static_cast<int>(ms));
}
}  // namespace luamig::history
