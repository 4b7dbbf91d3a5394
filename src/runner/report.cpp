#include "runner/report.hpp"

#include <fmt/format.h>

#include <sstream>

#include "runner/hook_calls.hpp"
#include "runner/migrate.hpp"
#include "util/duration.hpp"
#include "util/json.hpp"
#include "util/output.hpp"

namespace luamig::runner {
namespace {

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

// The lines after the headline for Lua code (a migration or a hook): where, the error, SQLSTATE and SQL, the
// user part of the Lua traceback.
std::string script_details(const Failure& f, const std::string& fallback_file, const std::string& function) {
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

// The same for a failure outside Lua (a statement luamig ran, the version table, a file that changed).
std::string other_details(const Failure& f, const std::string& path) {
  std::string text = fmt::format("  in {}\n  error: {}\n", path, f.db_message.value_or(f.message));
  if (f.kind == FailureKind::Sql) {
    if (f.sqlstate) text += fmt::format("  SQLSTATE: {}\n", *f.sqlstate);
    text += fmt::format("  SQL: {}\n", f.sql.value_or(""));
  }
  return text;
}

std::string without_final_newline(std::string text) {
  if (!text.empty() && text.back() == '\n') text.pop_back();
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

void report_step_failed(const graph::Step& step, const Failure& failure) {
  if (out::json()) out::json_line(step_object("step_failed", step).add("error", failure.message).str());
}

size_t steps_reported() { return g_steps_reported; }

Failure step_failure(const graph::Step& step, const Failure& cause, std::string_view outcome) {
  const auto& rev = *step.revision;
  Failure f = cause;
  f.kind = FailureKind::Migration;
  if (cause.kind == FailureKind::Hook) {
    f.report =
        without_final_newline(fmt::format("ERROR: {} of revision {} ({}) failed in hook {} of {}; {}.\n",
                                          direction_name(step.direction), out::escape(rev.id),
                                          out::escape(rev.message), cause.hook, cause.hook_file, outcome) +
                              script_details(cause, cause.hook_file, cause.hook));
    return f;
  }
  std::string text =
      fmt::format("ERROR: {} of revision {} ({}) failed; {}.\n", direction_name(step.direction),
                  out::escape(rev.id), out::escape(rev.message), outcome);
  text += cause.kind == FailureKind::Script ? script_details(cause, rev.path, "")
                                            : other_details(cause, rev.path);
  f.report = without_final_newline(text);
  return f;
}

Failure hook_failure(const Failure& cause, const std::string& consequence) {
  Failure f = cause;
  f.kind = FailureKind::Migration;
  f.report = without_final_newline(
      fmt::format("ERROR: hook {} of {} failed; {}\n", cause.hook, cause.hook_file, consequence) +
      script_details(cause, cause.hook_file, cause.hook));
  return f;
}

void append_report(Failure& failure, const std::string& lines) {
  if (failure.report.empty()) failure.report = failure_text(failure);
  failure.report += "\n" + lines;
}
}  // namespace luamig::runner
