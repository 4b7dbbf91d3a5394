#include "runner/report.hpp"

#include <fmt/format.h>

#include <sstream>

#include "luahost/engine.hpp"
#include "runner/hooks.hpp"
#include "runner/migrate.hpp"
#include "util/duration.hpp"
#include "util/json.hpp"
#include "util/output.hpp"
#include "util/sql_failure.hpp"

namespace luamig::runner {
namespace {
const char* direction_name(graph::Direction d) { return d == graph::Direction::Up ? "upgrade" : "downgrade"; }

// Keeps the traceback lines that point into user files; engine frames ("lua/...", "[C]") are noise to a user.
std::string user_traceback(const std::string& tb) {
  std::istringstream in(tb);
  std::string line, out;
  bool in_stack = false;  // the message (possibly several lines) comes first, and is shown already
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

// The lines after the headline: where, the error, SQLSTATE and SQL, the user part of the Lua traceback.
std::string details(const luahost::ScriptFailure& f, const std::string& fallback_file,
                    const std::string& function) {
  std::string text;
  std::string where = f.file.empty() ? fallback_file : f.file;
  if (f.line > 0) where += fmt::format(":{}", f.line);
  if (!function.empty()) where += fmt::format(" (in {})", function);
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
  return text;
}

size_t g_steps_reported = 0;

json::Object step_object(std::string_view event, const graph::Step& step) {
  const auto& r = *step.revision;
  json::Object o;
  o.add("event", event)
      .add("direction", direction_name(step.direction))
      .add("revision", r.id)
      .add("down_revisions", r.down_revisions)
      .add("message", r.message)
      .add("path", r.path);
  return o;
}

void print(std::string text) {
  if (!text.empty() && text.back() == '\n') text.pop_back();
  out::error(text);
}
}  // namespace

void report_step_start(const graph::Step& step) {
  if (out::json()) {
    out::json_line(step_object("step_start", step).str());
    return;
  }
  out::line(step_description(step));
}

void report_step_end(const graph::Step& step, std::chrono::milliseconds duration, bool dry_run) {
  ++g_steps_reported;
  if (out::json()) {
    out::json_line(
        step_object("step_end", step).add("duration_ms", static_cast<long long>(duration.count())).str());
    return;
  }
  if (dry_run)
    out::line(fmt::format("    -- {} ({})", out::escape(step.revision->id), format_duration(duration)));
  else
    out::line(fmt::format("  done in {}", format_duration(duration)));
}

size_t steps_reported() { return g_steps_reported; }

void report_step_outcome(const graph::Step& step, const std::exception& error, std::string_view outcome) {
  const auto& rev = *step.revision;
  if (out::json())
    out::json_line(step_object("step_failed", step).add("error", std::string_view(error.what())).str());
  if (const auto* he = dynamic_cast<const HookError*>(&error)) {
    print(fmt::format("ERROR: {} of revision {} ({}) failed in hook {} of {}; {}.\n",
                      direction_name(step.direction), out::escape(rev.id), out::escape(rev.message),
                      he->function, he->file, outcome) +
          details(he->failure, he->file, he->function));
    return;
  }
  std::string text =
      fmt::format("ERROR: {} of revision {} ({}) failed; {}.\n", direction_name(step.direction),
                  out::escape(rev.id), out::escape(rev.message), outcome);
  if (const auto* se = dynamic_cast<const luahost::ScriptError*>(&error)) {
    text += details(se->failure, rev.path, "");
  } else if (const auto* sf = dynamic_cast<const SqlFailure*>(&error)) {
    text += fmt::format("  in {}\n  error: {}\n", rev.path, sf->message());
    if (!sf->sqlstate().empty()) text += fmt::format("  SQLSTATE: {}\n", sf->sqlstate());
    text += fmt::format("  SQL: {}\n", sf->sql());
  } else {
    text += fmt::format("  in {}\n  error: {}\n", rev.path, error.what());
  }
  print(text);
}

void report_hook_failure(const HookError& error, const std::string& consequence) {
  print(fmt::format("ERROR: hook {} of {} failed; {}\n", error.function, error.file, consequence) +
        details(error.failure, error.file, error.function));
}

void report_step_failure(const graph::Step& step, const std::exception& error, bool per_step) {
  report_step_outcome(
      step, error, per_step ? "the revision was rolled back" : "every step of this command was rolled back");
}
}  // namespace luamig::runner
