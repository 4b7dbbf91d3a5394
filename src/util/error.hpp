#pragma once
// Expected failures, each carrying the process exit status it maps to.
// 1: a migration or database failure.  2: a usage, config or revision-graph error.
#include <stdexcept>
#include <string>

namespace luamig {

class Error : public std::runtime_error {
 public:
  Error(int exit_code, const std::string& message) : std::runtime_error(message), exit_code_(exit_code) {}
  int exit_code() const { return exit_code_; }

 private:
  int exit_code_;
};

// Bad command line or arguments.
class UsageError : public Error {
 public:
  explicit UsageError(const std::string& m) : Error(2, m) {}
};

// luamig.lua could not be read, evaluated or validated.
class ConfigError : public Error {
 public:
  explicit ConfigError(const std::string& m) : Error(2, m) {}
};

// A migration, hook or database statement failed; the failing step was rolled back.
class RunError : public Error {
 public:
  explicit RunError(const std::string& m, int code = 1) : Error(code, m) {}
};

}  // namespace luamig
