#pragma once
// When a failed attempt at a revision is tried again: the server's lock_timeout expired (SQLSTATE 55P03,
// lock_not_available) while the revision runs in a transaction of its own, retries are left (lock_retries),
// and the attempt committed nothing on the way (autocommit_block, op.transaction). Pauses grow:
// lock_retry_delay * 2^(n-1), +-25%.
#include <chrono>
#include <string>

#include "util/failure.hpp"

namespace luamig::runner {

class RetryPolicy {
 public:
  // `enabled` false: never retry (the whole command in one transaction, a dry run, an --sql script).
  RetryPolicy(bool enabled, int retries, std::chrono::milliseconds delay)
      : enabled_(enabled), retries_(retries), delay_(delay) {}
  // Whether attempt number `retries_done + 1` failed in a way worth another.
  bool should_retry(const Failure& failure, int retries_done, bool autocommitted) const;
  // The pause before retry `n` (1-based), with jitter.
  std::chrono::milliseconds pause(int n) const;
  int retries() const { return retries_; }
  // "The lock was still not available after 3 retries (lock_retries = 3)."
  std::string exhausted_sentence(int retries_done) const;

 private:
  bool enabled_;
  int retries_;
  std::chrono::milliseconds delay_;
};

inline constexpr const char kLockNotAvailable[] = "55P03";
}  // namespace luamig::runner
