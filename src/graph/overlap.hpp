#pragma once
// The rows of the version table must be independent heads: a revision together with one of its own ancestors
// (both as rows) is an inconsistent table, refused as Alembic refuses it, never migrated over.
#include <string>
#include <vector>

#include "graph/revision_map.hpp"

namespace luamig::graph {

// Throws GraphError ("Requested revision B overlaps with other requested revisions A...") when a row of
// `rows` is an ancestor of another row (along down_revision). Rows the map does not know are ignored (they
// are reported elsewhere).
void check_rows_do_not_overlap(const RevisionMap& map, const std::vector<std::string>& rows,
                               const std::string& version_table);
}  // namespace luamig::graph
