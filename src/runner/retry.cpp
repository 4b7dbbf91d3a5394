#include "runner/retry.hpp"

#include <fmt/format.h>

#include <random>

namespace luamig::runner {

bool RetryPolicy::should_retry(const Failure& failure, int retries_done, bool autocommitted) const {
  return enabled_ && failure.sqlstate.value_or("") == kLockNotAvailable && retries_done < retries_ &&
         !autocommitted;
}

std::chrono::milliseconds RetryPolicy::pause(int n) const {
  static std::mt19937 rng(std::random_device{}());
  std::uniform_real_distribution<double> jitter(0.75, 1.25);
  double ms = static_cast<double>(delay_.count()) * static_cast<double>(1LL << (n - 1));
  return std::chrono::milliseconds(static_cast<long long>(ms * jitter(rng)));
}

std::string RetryPolicy::exhausted_sentence(int retries_done) const {
  return fmt::format("The lock was still not available after {} retr{} (lock_retries = {}).", retries_done,
                     retries_done == 1 ? "y" : "ies", retries_);
}
}  // namespace luamig::runner
