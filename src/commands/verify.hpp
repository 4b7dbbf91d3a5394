#pragma once
// `luamig verify` and `luamig trace`: run the revisions on a throwaway database.
#include <string>

#include "config/config.hpp"

namespace luamig::commands {

struct VerifyOptions {
  std::string from = "base";  // --from: where the stairway starts
  std::string to = "head";    // --to: where it ends
  bool data = false;          // --data: seed every table before each step
  bool json = false;          // --json: the report as JSON on stdout
  bool force = false;         // --force: accept a --url database that is not empty
  bool sqlite = false;        // --sqlite: verify on a temporary SQLite file instead of a throwaway PostgreSQL
};
// Walks the stairway (see verify/stairway.cpp). Returns 0 when every revision's downgrade restores the schema
// before it, 1 otherwise (the report names the revision, its downgrade() file:line and the differing
// objects).
int verify(const config::GlobalOptions&, const VerifyOptions&);

struct TraceOptions {
  std::string range = "base:head";  // REV_RANGE, FROM:TO
  int data_rows = 0;                // --data ROWS: fill every table with ROWS rows first
  bool json = false;
  long long long_statement_ms = 1000;  // a statement this long holding ACCESS EXCLUSIVE is flagged
};
// Runs the range's revisions and reports the locks each statement took. Returns 0 (1 when a revision failed).
int trace(const config::GlobalOptions&, const TraceOptions&);
}  // namespace luamig::commands
