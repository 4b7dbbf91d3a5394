#include "runner/project.hpp"

#include "scripts/loader.hpp"
#include "util/error.hpp"

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
  std::string url = config::resolve_url(opts, cfg);
  if (url.empty())
    throw ConfigError("no database URL: pass --url, set `url` in luamig.lua, or set DATABASE_URL");
  return config::parse_url(url);
}
}  // namespace luamig::runner
