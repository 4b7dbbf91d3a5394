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

std::string failure_text(const Failure& failure) {
  if (!failure.report.empty()) return failure.report;
  return "ERROR: " + failure.message;
}
}  // namespace luamig
