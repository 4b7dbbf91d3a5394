#pragma once
// Who hears about the steps of a run: the text report, and whatever else follows a run (JSON events, a
// history keeper, tracing) by implementing StepObserver and joining the run's Observers. The run loop calls
// them in order; an observer that throws fails the step like the step's own code would.
#include <chrono>
#include <memory>
#include <vector>

#include "graph/plan.hpp"
#include "util/failure.hpp"

namespace luamig::runner {

class StepObserver {
 public:
  virtual ~StepObserver() = default;
  // Before the step's first attempt runs (not again for a retry).
  virtual void on_step_start(const graph::Step& step) { (void)step; }
  // The step's work and version row are done (committed when the policy commits per revision).
  virtual void on_step_end(const graph::Step& step, std::chrono::nanoseconds duration) {
    (void)step, (void)duration;
  }
  // The step failed for good (after retries), its transaction already rolled back where one could be;
  // `failure.report` holds the text the user will be shown.
  virtual void on_failure(const graph::Step& step, const Failure& failure) { (void)step, (void)failure; }
};

// Passes every event on to an observer someone else owns (the caller's MigrateOptions::observer).
class ForwardObserver : public StepObserver {
 public:
  explicit ForwardObserver(StepObserver& to) : to_(to) {}
  void on_step_start(const graph::Step& s) override { to_.on_step_start(s); }
  void on_step_end(const graph::Step& s, std::chrono::nanoseconds d) override { to_.on_step_end(s, d); }
  void on_failure(const graph::Step& s, const Failure& f) override { to_.on_failure(s, f); }

 private:
  StepObserver& to_;
};

// A fan-out to several observers, in the order they were added.
class Observers : public StepObserver {
 public:
  void add(std::unique_ptr<StepObserver> o) { owned_.push_back(std::move(o)); }
  void on_step_start(const graph::Step& step) override {
    for (auto& o : owned_) o->on_step_start(step);
  }
  void on_step_end(const graph::Step& step, std::chrono::nanoseconds duration) override {
    for (auto& o : owned_) o->on_step_end(step, duration);
  }
  void on_failure(const graph::Step& step, const Failure& failure) override {
    for (auto& o : owned_) o->on_failure(step, failure);
  }

 private:
  std::vector<std::unique_ptr<StepObserver>> owned_;
};
}  // namespace luamig::runner
