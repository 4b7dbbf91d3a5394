#pragma once
// Gathering what the linter reads from a project: every revision's upgrade() plan, recorded by running the
// revisions in --sql mode (nothing connects; the statements are discarded), and with a database the current
// heads, table sizes and server version.
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "db/connection.hpp"
#include "lint/lint.hpp"
#include "runner/project.hpp"

namespace luamig::lint {

// All revisions from base to the heads, parents first, with their plans (PostgreSQL rendering). A revision
// that cannot run in --sql mode (a Lua error, an op refused) has been reported on stderr by the runner when
// this returns with `stopped_at` set; the revisions before it are returned.
struct Collected {
  std::vector<RevisionInput> revisions;
  std::string stopped_at;  // the revision that failed, "" when all ran
};
Collected collect_revisions(const runner::Project& project);

// What the database tells: its heads (version table), pg_class.reltuples per table, server_version_num.
struct DatabaseFacts {
  std::vector<std::string> heads;
};
DatabaseFacts read_database(db::Connection& conn, const runner::Project& project, Context& context);

// Marks `report` on the revisions in `range` ("A:B", "base:B", "A:" or one id; "" = all).
void select_range(std::vector<RevisionInput>& revisions, const graph::RevisionMap& map,
                  const std::string& range);
// Marks `report` on the revisions not applied to a database at `current` heads.
void select_unapplied(std::vector<RevisionInput>& revisions, const graph::RevisionMap& map,
                      const std::vector<std::string>& current);
}  // namespace luamig::lint
