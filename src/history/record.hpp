#pragma once
// One row of the history table, and the tamper-evident chain over the rows.
//
// chain(row) = hex(SHA-256(chain(previous row) || encode(row))), with chain(before the first row) = 64 '0's.
// encode(row) is the row's fields in the order of kFieldNames, each written as a netstring: the decimal
// byte length, ':', the bytes, ','; a NULL field is written as "-,". Field text is exactly what is stored
// (timestamps as ISO 8601 UTC text, numbers in decimal), so anyone can recompute the chain with SQL and a
// SHA-256 tool. `seq` is part of the encoding: deleting, inserting or reordering rows breaks the chain at the
// first row after the change.
#include <optional>
#include <string>
#include <vector>

namespace luamig::history {

struct Row {
  long long seq = 0;     // 1, 2, 3... in write order
  std::string revision;  // "" for a baseline row
  // "upgrade", "downgrade", "repair", "baseline", "external-upgrade", "external-downgrade"
  std::string kind;
  std::string outcome;                    // "success" or "failed"
  std::string heads_before, heads_after;  // comma-separated, sorted
  std::optional<std::string> checksum, normalised, plan_checksum;
  int checksum_algorithm = 0;
  std::string started_at, finished_at;  // ISO 8601 UTC, milliseconds
  long long duration_ms = 0;
  std::string db_user, client_host, luamig_version, environment;
  std::optional<std::string> sqlstate, message;  // failed steps; message = reason for repair/external
  std::string chain;
};

// Column names in encoding order (chain excluded).
const std::vector<std::string>& field_names();
// The fields of `r` as stored, in field_names() order.
std::vector<std::optional<std::string>> fields_of(const Row& r);
// Fills a row from stored text in field_names() order, then chain. Throws std::invalid_argument for numbers
// that do not parse.
Row row_from_fields(const std::vector<std::optional<std::string>>& fields);

std::string encode(const Row& r);
std::string chain_of(const std::string& previous_chain, const Row& r);
inline const std::string kGenesisChain(64, '0');

// Now, as stored: "2026-01-31T12:34:56.789Z".
std::string utc_now();
}  // namespace luamig::history
