#include "runner/report.hpp"

#include <fmt/format.h>

#include <sstream>

#include "luahost/engine.hpp"
#include "util/output.hpp"
#include "util/sql_failure.hpp"

namespace luamig::runner {
namespace {
const char* direction_name(graph::Direction d) { return d == graph::Direction::Up ? "upgrade" : "downgrade"; }

// Keeps the traceback lines that point into user files; engine frames ("lua/...", "[C]") are noise to a user.
std::string user_traceback(const std::string& tb) {
  std::istringstream in(tb);
  std::string line, out;
  bool in_stack = false;   // the message (possibly several lines) comes first, and is shown already
  while (std::getline(in, line)) {
    if (line.find("stack traceback:") != std::string::npos) {
      in_stack = true;
      continue;
    }
    if (!in_stack) continue;
    auto start = line.find_first_not_of(" \t");
    if (start == std::string::npos) continue;
    line = line.substr(start);
    // Engine frames ("lua/op.lua", "[C]") are noise to a user.
    if (line.rfind("lua/", 0) == 0 || line.rfind("[C]", 0) == 0 || line.rfind("stdlib/", 0) == 0) continue;
    out += "    " + line + "\n";
  }
  return out;
}
}  // namespace

void report_step_outcome(const graph::Step& step, const std::exception& error, std::string_view outcome) {
  const auto& rev = *step.revision;
  std::string text = fmt::format("ERROR: {} of revision {} ({}) failed; {}.\n", direction_name(step.direction),
                                 rev.id, rev.message, outcome);
  if (const auto* se = dynamic_cast<const luahost::ScriptError*>(&error)) {
    const auto& f = se->failure;
    std::string where = f.file.empty() ? rev.path : f.file;
    if (f.line > 0) where += fmt::format(":{}", f.line);
    text += fmt::format("  at {}\n", where);
    if (f.db_message) {
      text += fmt::format("  error: {}\n", *f.db_message);
      if (f.sqlstate && !f.sqlstate->empty()) text += fmt::format("  SQLSTATE: {}\n", *f.sqlstate);
      if (f.sql) text += fmt::format("  SQL: {}\n", *f.sql);
    } else {
      text += fmt::format("  error: {}\n", f.message);
    }
    std::string tb = user_traceback(f.traceback);
    if (!tb.empty()) text += "  Lua traceback:\n" + tb;
  } else if (const auto* sf = dynamic_cast<const SqlFailure*>(&error)) {
    text += fmt::format("  in {}\n  error: {}\n", rev.path, sf->message());
    if (!sf->sqlstate().empty()) text += fmt::format("  SQLSTATE: {}\n", sf->sqlstate());
    text += fmt::format("  SQL: {}\n", sf->sql());
  } else {
    text += fmt::format("  in {}\n  error: {}\n", rev.path, error.what());
  }
  if (!text.empty() && text.back() == '\n') text.pop_back();
  out::error(text);
}

void report_step_failure(const graph::Step& step, const std::exception& error, bool per_step) {
  report_step_outcome(step, error,
                      per_step ? "the revision was rolled back" : "every step of this command was rolled back");
}
}  // namespace luamig::runner
