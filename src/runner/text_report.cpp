#include "runner/text_report.hpp"

#include <fmt/format.h>

#include "runner/migrate.hpp"
#include "util/duration.hpp"
#include "util/output.hpp"

namespace luamig::runner {

void TextReport::on_step_start(const graph::Step& step) {
  if (style_ == Style::Offline) out::data(fmt::format("-- {}\n", step_description(step)));
  if (style_ == Style::DryRun) out::line(step_description(step));
}

void TextReport::on_step_end(const graph::Step& step, std::chrono::nanoseconds duration) {
  if (style_ == Style::DryRun)
    out::line(fmt::format("    -- {} ({})", step.revision->id, format_duration(duration)));
  else if (style_ == Style::Online)
    out::line(fmt::format("{} ({})", step_description(step), format_duration(duration)));
}
}  // namespace luamig::runner
