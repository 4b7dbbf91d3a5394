#pragma once
// `-- luamig: allow <rule>[, <rule>...] [reason]` comments: on the line of the op call (or SQL statement) or
// on the line above it. `allow all` silences every rule there.
#include <optional>
#include <string>
#include <vector>

namespace luamig::lint {

// The reason given (possibly "") when line `line` (1-based) or the line above allows `rule`; nullopt
// otherwise.
std::optional<std::string> allowed_by_comment(const std::vector<std::string>& lines, int line,
                                              const std::string& rule);

std::vector<std::string> split_lines(const std::string& text);
}  // namespace luamig::lint
