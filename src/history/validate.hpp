#pragma once
// Validation of a database's history against the revision files: the chain, then every applied revision's
// checksum. Pure logic: the caller reads the rows and supplies the files' checksums.
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "graph/revision_map.hpp"
#include "history/checksum.hpp"
#include "history/record.hpp"

namespace luamig::history {

struct Finding {
  enum class Kind {
    ChainBroken,   // error: a row was edited, deleted, inserted or reordered
    Edited,        // error: an applied file's content changed
    CommentsOnly,  // warning: only comments/whitespace changed (normalised checksum equal)
    Missing,       // error: applied (per history) but no file in the graph
    Unknown,       // error: in the version table but not in the graph
    AlgorithmOld,  // warning: recorded with another checksum algorithm; re-baselined
    External,      // warning: the version table moved without luamig (recorded as external on the next run)
  };
  Kind kind;
  std::string revision;
  long long seq = 0;    // the history row concerned, 0 = none
  std::string message;  // one line, names the revision/row, the file and the fix
  bool error() const {
    return kind == Kind::ChainBroken || kind == Kind::Edited || kind == Kind::Missing ||
           kind == Kind::Unknown;
  }
};

struct Report {
  std::vector<Finding> findings;
  size_t rows = 0, checked = 0;
  bool ok() const;
};

// What a revision's file holds now; nullopt when the revision has no file in the graph.
struct CurrentFile {
  std::string path;
  FileChecksums sums;
};
using FileLookup = std::function<std::optional<CurrentFile>(const std::string& revision)>;

// The revisions the history says are applied, with the checksum and normalised checksum last accepted
// for each (upgrade, external-upgrade and repair rows set it; downgrades remove the revision), in seq order.
struct Applied {
  std::string revision;
  long long seq = 0;
  std::optional<std::string> checksum, normalised;
  int algorithm = 0;
};
std::vector<Applied> applied_revisions(const std::vector<Row>& rows);

// The first row whose seq or chain does not follow from the rows before it; nullopt when the chain holds.
std::optional<Finding> verify_chain(const std::vector<Row>& rows);

// Full validation. `version_heads` = the version table's rows; `map` the graph (for unknown revisions).
Report validate(const std::vector<Row>& rows, const std::set<std::string>& version_heads,
                const graph::RevisionMap& map, const FileLookup& files);
// The same with `known(id)` telling whether a revision is in the graph, and `applied_now` (when given) the
// revisions the version table says are applied: a revision of the graph that the history lists as applied but
// the version table does not (it was stamped away, or the table was dropped) is not compared.
Report validate(const std::vector<Row>& rows, const std::set<std::string>& version_heads,
                const std::function<bool(const std::string&)>& known, const FileLookup& files,
                const std::set<std::string>* applied_now = nullptr);

// "a,b" of a set (sorted), as stored in heads_before/heads_after.
std::string heads_text(const std::set<std::string>& heads);
std::set<std::string> heads_from_text(const std::string& text);
}  // namespace luamig::history
