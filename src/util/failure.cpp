#include "util/failure.hpp"

#include "util/error.hpp"

namespace luamig {

Failure failure_of(const std::exception& error) {
  if (const auto* e = dynamic_cast<const Error*>(&error)) return e->failure;
  Failure f;
  f.kind = FailureKind::Internal;
  f.message = error.what();
  return f;
}

namespace {
struct KindStatus {
  FailureKind kind;
  int status;
};
constexpr KindStatus kExitStatus[] = {
    {FailureKind::Usage, 2},     {FailureKind::Config, 2},    {FailureKind::Graph, 2},
    {FailureKind::Refused, 2},   {FailureKind::Migration, 1}, {FailureKind::Sql, 1},
    {FailureKind::Script, 1},    {FailureKind::Hook, 1},      {FailureKind::Internal, 1},
    {FailureKind::Stopped, 128},
};
}  // namespace

int exit_status(const Failure& failure) {
  for (const auto& e : kExitStatus)
    if (e.kind == failure.kind)
      return failure.kind == FailureKind::Stopped ? e.status + failure.signal : e.status;
  return 1;
}

std::string failure_text(const Failure& failure) {
  if (!failure.report.empty()) return failure.report;
  if (failure.message.empty()) return "";  // nothing to say (never thrown by luamig itself)
  return "ERROR: " + failure.message;
}
}  // namespace luamig
