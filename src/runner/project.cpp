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
  if (map) return *map;
  uint64_t fingerprint = 0;
  auto revisions = scripts::load_revisions(cfg.versions_dir(), &fingerprint);
  map = std::make_unique<graph::RevisionMap>(std::move(revisions));
  scripts::remember_heads(cfg.versions_dir(), fingerprint, map->heads());
  return *map;
}

const std::optional<std::vector<std::string>>& Project::remembered_heads() {
  if (!remembered_read) {
    remembered = scripts::remembered_heads(cfg.versions_dir());
    remembered_read = true;
  }
  return remembered;
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
