#include "runner/project.hpp"

#include <fmt/format.h>

#include "scripts/loader.hpp"
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
  cfg.require_environment();
  std::string url = config::resolve_url(opts, cfg);
  if (url.empty()) {
    // As psql does: libpq's own variables (PGHOST, PGUSER, PGDATABASE, PGSERVICE...) name a PostgreSQL
    // server.
    if (cfg.environments.empty() && config::libpq_environment_set()) return config::parse_url("");
    // A named environment never falls back to a local file: "production" without a URL is a mistake to
    // report.
    if (!cfg.environments.empty())
      throw ConfigError(
          fmt::format("no database URL for environment '{}': set `url` in its block of {}, pass "
                      "--url, or set DATABASE_URL",
                      cfg.environment, cfg.file.string()));
    if (!default_url_noted)
      out::line(fmt::format("No database URL configured: using {} (a SQLite file in the working directory)",
                            kDefaultUrl));
    default_url_noted = true;
    return config::parse_url(kDefaultUrl);
  }
  return config::parse_url(url);
}

void Project::announce(const std::string& target) const {
  out::line(fmt::format("Environment {}, database {}", cfg.environment, target));
}
}  // namespace luamig::runner
