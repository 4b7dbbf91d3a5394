#include "runner/text_report.hpp"

#include <fmt/format.h>

#include "runner/migrate.hpp"
#include "runner/report.hpp"
#include "util/output.hpp"

namespace luamig::runner {

void TextReport::on_step_start(const graph::Step& step) {
  if (style_ == Style::Silent) return;
  if (style_ == Style::Offline) {
    out::data(fmt::format("-- {}\n", step_description(step)));
    return;
  }
  report_step_start(step);
}

void TextReport::on_step_end(const graph::Step& step, std::chrono::nanoseconds duration) {
  if (style_ == Style::Offline || style_ == Style::Silent) return;
  report_step_end(step, std::chrono::duration_cast<std::chrono::milliseconds>(duration),
                  style_ == Style::DryRun);
}

void TextReport::on_failure(const graph::Step& step, const Failure& failure) {
  report_step_failed(step, failure);
}
}  // namespace luamig::runner
