#include "history/table.hpp"

#include <fmt/format.h>

#include "util/sql_failure.hpp"

namespace luamig::history {

HistoryTable::HistoryTable(db::Connection& conn, std::string table, std::string schema)
    : conn_(conn), table_(std::move(table)), schema_(std::move(schema)) {
  qualified_ = conn_.dialect().qualify(table_, schema_);
}

bool HistoryTable::exists() {
  return !conn_.fetch(conn_.dialect().table_exists_query(), {table_, schema_}).empty();
}

std::string HistoryTable::create_sql() const {
  return fmt::format(
      "CREATE TABLE {} (seq BIGINT NOT NULL PRIMARY KEY, revision TEXT NOT NULL, kind TEXT NOT NULL, "
      "outcome TEXT NOT NULL, heads_before TEXT NOT NULL, heads_after TEXT NOT NULL, checksum TEXT, "
      "normalised TEXT, checksum_algo INTEGER NOT NULL, plan_checksum TEXT, started_at TEXT NOT NULL, "
      "finished_at TEXT NOT NULL, duration_ms BIGINT NOT NULL, db_user TEXT NOT NULL, client_host TEXT NOT "
      "NULL, "
      "luamig_version TEXT NOT NULL, environment TEXT NOT NULL, sqlstate TEXT, message TEXT, chain TEXT NOT "
      "NULL)",
      qualified_);
}

bool HistoryTable::still_valid(const std::optional<unsigned long>& at) const {
  return at && conn_.rollbacks() == at;
}

void HistoryTable::ensure() {
  if (still_valid(ensured_at_)) return;
  if (!exists()) conn_.execute(create_sql());
  ensured_at_ = conn_.rollbacks();
}

std::vector<Row> HistoryTable::rows() {
  std::string cols;
  for (const auto& n : field_names()) cols += n + ", ";
  cols += "chain";
  auto result = conn_.fetch(fmt::format("SELECT {} FROM {} ORDER BY seq", cols, qualified_));
  std::vector<Row> out;
  out.reserve(result.size());
  for (const auto& r : result) out.push_back(row_from_fields(r));
  return out;
}

long long HistoryTable::last_seq() {
  auto r = conn_.fetch(fmt::format("SELECT MAX(seq) FROM {}", qualified_));
  return !r.empty() && r[0][0] && !r[0][0]->empty() ? std::stoll(*r[0][0]) : 0;
}

std::optional<std::vector<Row>> HistoryTable::rows_if_exists() {
  if (conn_.in_transaction()) {
    if (!exists()) return std::nullopt;
    return rows();
  }
  try {
    return rows();
  } catch (const SqlFailure& e) {
    if (e.sqlstate() == "42P01" || !exists()) return std::nullopt;
    throw;
  }
}

Row HistoryTable::append(Row r) {
  // The last row is read once per run: every write after it is this run's own, under the migration lock, and
  // remembered until a transaction ends without COMMIT.
  if (!still_valid(tail_.at)) {
    auto last = conn_.fetch(fmt::format("SELECT seq, chain FROM {} ORDER BY seq DESC LIMIT 1", qualified_));
    tail_ = Tail{};
    if (!last.empty() && last[0][0]) {
      tail_.seq = std::stoll(*last[0][0]);
      tail_.chain = last[0][1].value_or("");
    }
    tail_.at = conn_.rollbacks();
  }
  r.seq = tail_.seq + 1;
  r.chain = chain_of(tail_.seq == 0 ? std::string(kGenesisChain) : tail_.chain, r);
  const auto& d = conn_.dialect();
  std::string cols, marks;
  std::vector<Param> params;
  size_t n = 0;
  for (const auto& f : fields_of(r)) {
    cols += field_names()[n] + ", ";
    ++n;
    marks += d.placeholder(static_cast<int>(n)) + ", ";
    params.push_back(f);
  }
  cols += "chain";
  marks += d.placeholder(static_cast<int>(n + 1));
  params.push_back(r.chain);
  // Deferred (Connection::defer): in a step's transaction it travels with the version row.
  conn_.defer(fmt::format("INSERT INTO {} ({}) VALUES ({})", qualified_, cols, marks), params, false, {});
  tail_.seq = r.seq;
  tail_.chain = r.chain;
  return r;
}
}  // namespace luamig::history
