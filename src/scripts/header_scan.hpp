#pragma once
// Reads a migration file's header (revision, down_revision, branch_labels, depends_on, message) from its text
// without running it. Files whose headers are not plain literals are evaluated instead (see loader).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace luamig::scripts {

struct Header {
  bool complete = false;  // false: some header is not a literal; evaluate the file to read it
  std::optional<std::string> revision;
  int revision_line = 0;
  bool revision_not_string = false;
  std::vector<std::string> down_revisions;
  bool down_revision_set = false;
  std::vector<std::string> branch_labels;
  std::vector<std::string> depends_on;
  std::string message;      // first comment line
  std::string create_date;  // "-- Create Date: ..." line
  bool has_downgrade = false;
  bool has_upgrade = false;
};

Header scan_header(std::string_view source);
}  // namespace luamig::scripts
