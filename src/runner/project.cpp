#include "runner/project.hpp"

#include <fmt/format.h>

#include "scripts/loader.hpp"
#include "util/error.hpp"
#include "util/output.hpp"

namespace luamig::runner {

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
  cfg.require_environment();
  std::string url = config::resolve_url(opts, cfg);
  if (url.empty())
    throw ConfigError(fmt::format("no database URL for environment '{}': pass --url, set `url` in luamig.lua, or "
                                  "set DATABASE_URL",
                                  cfg.environment));
  return config::parse_url(url);
}

void Project::announce(const config::DatabaseUrl& url) const {
  out::line(fmt::format("Environment {}, database {}", cfg.environment, url.masked()));
}
}  // namespace luamig::runner
