#pragma once
// The step events a run reports (runner/report.hpp), as a StepObserver: "Running upgrade a -> b, message"
// before the step runs and "  done in 14 ms" after it (a dry run: "    -- b (14 ms)"), or JSON events with
// --json; --sql writes "-- Running upgrade ..." into the script before the step's SQL instead.
#include "runner/observer.hpp"

namespace luamig::runner {

class TextReport : public StepObserver {
 public:
  enum class Style { Online, DryRun, Offline, Silent };  // Silent: --sql into a script sink
  explicit TextReport(Style style) : style_(style) {}
  void on_step_start(const graph::Step& step) override;
  void on_step_end(const graph::Step& step, std::chrono::nanoseconds duration) override;
  void on_failure(const graph::Step& step, const Failure& failure) override;

 private:
  Style style_;
};
}  // namespace luamig::runner
