#include "runner/project.hpp"

#include "scripts/loader.hpp"
#include <fmt/format.h>

#include "util/error.hpp"
#include "util/output.hpp"

namespace luamig::runner {

const char kDefaultUrl[] = "sqlite:///luamig.db";

Project Project::open(const config::GlobalOptions& opts) {
  Project p;
  p.opts = opts;
  p.cfg = config::load(opts);
  return p;
}

const graph::RevisionMap& Project::load_graph() {
  if (!map) map = std::make_unique<graph::RevisionMap>(scripts::load_revisions(cfg.versions_dir()));
  return *map;
}

config::DatabaseUrl Project::database_url() const {
  std::string url = config::resolve_url(opts, cfg);
  if (url.empty()) {
    out::line(fmt::format("No database URL configured: using {} (a SQLite file in the working directory)", kDefaultUrl));
    return config::parse_url(kDefaultUrl);
  }
  return config::parse_url(url);
}
}  // namespace luamig::runner
