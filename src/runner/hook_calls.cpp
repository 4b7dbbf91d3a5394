#include "runner/hook_calls.hpp"

#include <fmt/format.h>

#include "runner/report.hpp"
#include "util/interrupt.hpp"
#include "util/output.hpp"

namespace luamig::runner {

using luahost::Value;

const char* direction_name(graph::Direction d) { return d == graph::Direction::Up ? "upgrade" : "downgrade"; }

Value step_value(const std::vector<graph::Step>& steps, size_t index, std::optional<long long> duration_ms) {
  const auto& step = steps[index];
  const auto& r = *step.revision;
  return Value::record({
      {"revision", Value::text(r.id)},
      {"direction", Value::text(direction_name(step.direction))},
      {"message", Value::text(r.message)},
      {"file", Value::text(r.path)},
      {"down_revisions", Value::list(r.down_revisions)},
      {"index", Value::number(static_cast<double>(index + 1))},
      {"duration_ms", duration_ms ? Value::number(static_cast<double>(*duration_ms)) : Value{}},
  });
}

Value error_value(const Failure& f) {
  if (f.kind == FailureKind::Script || f.kind == FailureKind::Hook) {
    return Value::record({
        {"message", Value::text(f.db_message.value_or(f.message))},
        {"file", f.file.empty() ? Value{} : Value::text(f.file)},
        {"line", f.line > 0 ? Value::number(f.line) : Value{}},
        {"sqlstate", f.sqlstate ? Value::text(*f.sqlstate) : Value{}},
        {"sql", f.sql ? Value::text(*f.sql) : Value{}},
        {"hook", f.hook.empty() ? Value{} : Value::text(f.hook)},
        {"timeout", Value::flag(f.timeout)},
        {"memory", Value::flag(f.memory)},
    });
  }
  if (f.kind == FailureKind::Sql) {
    return Value::record({{"message", Value::text(f.db_message.value_or(f.message))},
                          {"sqlstate", f.sqlstate ? Value::text(*f.sqlstate) : Value{}},
                          {"sql", Value::text(f.sql.value_or(""))}});
  }
  return Value::record({{"message", Value::text(f.message)}});
}

Value run_context(const RunFacts& facts, const std::vector<graph::Step>& steps,
                  const std::set<std::string>& to, std::optional<long long> duration_ms) {
  std::vector<Value> step_values;
  for (size_t i = 0; i < steps.size(); ++i) step_values.push_back(step_value(steps, i, std::nullopt));
  std::vector<std::pair<std::string, Value>> x;
  for (const auto& [k, v] : facts.x) x.emplace_back(k, Value::text(v));
  return Value::record({
      {"command", Value::text(direction_name(facts.direction))},
      {"environment", Value::text(facts.environment)},
      {"database", Value::text(facts.database)},
      {"target", Value::text(facts.target)},
      {"from", Value::list(std::vector<std::string>(facts.start_heads.begin(), facts.start_heads.end()))},
      {"to", Value::list(std::vector<std::string>(to.begin(), to.end()))},
      {"steps", Value::list(step_values)},
      {"x", Value::record(x)},
      {"duration_ms", duration_ms ? Value::number(static_cast<double>(*duration_ms)) : Value{}},
  });
}

void HookCalls::in_hook_transaction(const std::function<void()>& body, const std::string& consequence) {
  std::optional<db::Transaction> own;
  if (!conn_.in_transaction()) own.emplace(services_.open_transaction());
  try {
    body();
  } catch (const HookError& e) {
    if (own)
      own->rollback();
    else
      conn_.rollback();                 // a surrounding transaction too: the run ends here
    if (interrupt::requested()) throw;  // a stop, told as such by migrate()
    throw RunError(hook_failure(e.failure, consequence));
  } catch (...) {
    conn_.rollback();
    throw;
  }
  if (own) own->commit();
}

void HookCalls::call_on_error(const Value& step, const Failure& failure, const Value& ctx) {
  if (hooks_.empty() || !hooks_.defines("on_error") || interrupt::requested()) return;
  auto err = error_value(failure);
  for (size_t i = 0; i < hooks_.size(); ++i) {
    if (!hooks_.file_defines(i, "on_error")) continue;
    try {
      auto tx = services_.open_transaction();
      hooks_.call_file(i, "on_error", {step, err, ctx});
      tx.commit();
    } catch (const HookError& he) {
      out::error(hook_failure(he.failure, "its changes were rolled back.").report);
    } catch (const std::exception& other) {
      out::error(fmt::format("ERROR: hook on_error of {} failed: {}", hooks_.files()[i], other.what()));
    }
  }
}
}  // namespace luamig::runner
