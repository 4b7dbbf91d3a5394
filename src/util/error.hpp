#pragma once
// Expected failures. Each carries one Failure value (util/failure.hpp); its kind decides the exit status, in
// one table in main.cpp: 1 for a migration or database failure, 2 for a usage, config or revision-graph
// error.
#include <stdexcept>
#include <string>

#include "util/failure.hpp"

namespace luamig {

class Error : public std::runtime_error {
 public:
  explicit Error(Failure f) : std::runtime_error(f.message), failure(std::move(f)) {}
  Error(FailureKind kind, const std::string& message) : Error(make(kind, message)) {}
  // The failure, with everything known about it. Layers that learn more (a consequence, a report) copy it
  // into a new Error rather than changing this one.
  Failure failure;

 private:
  static Failure make(FailureKind kind, const std::string& message) {
    Failure f;
    f.kind = kind;
    f.message = message;
    return f;
  }
};

// Bad command line or arguments.
class UsageError : public Error {
 public:
  explicit UsageError(const std::string& m) : Error(FailureKind::Usage, m) {}
};

// luamig.lua could not be read, evaluated or validated.
class ConfigError : public Error {
 public:
  explicit ConfigError(const std::string& m) : Error(FailureKind::Config, m) {}
};

// A migration, hook or database statement failed; the failing step was rolled back. `code` 2: a refusal
// before anything changed (FailureKind::Refused).
class RunError : public Error {
 public:
  explicit RunError(const std::string& m, int code = 1)
      : Error(code == 2 ? FailureKind::Refused : FailureKind::Migration, m) {}
  explicit RunError(Failure f) : Error(std::move(f)) {}
};

}  // namespace luamig
