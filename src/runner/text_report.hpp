#pragma once
// The step lines a run prints, as a StepObserver: online "Running upgrade a -> b, message (14 ms)" when the
// step is done; a dry run prints the line before the step's statements and "    -- b (14 ms)" after them;
// --sql writes
// "-- Running upgrade ..." into the script before the step's SQL.
#include "runner/observer.hpp"

namespace luamig::runner {

class TextReport : public StepObserver {
 public:
  enum class Style { Online, DryRun, Offline };
  explicit TextReport(Style style) : style_(style) {}
  void on_step_start(const graph::Step& step) override;
  void on_step_end(const graph::Step& step, std::chrono::nanoseconds duration) override;

 private:
  Style style_;
};
}  // namespace luamig::runner
