#pragma once
// What every command works on: the resolved config, the revision graph, and the database URL.
#include <memory>
#include <string>

#include "config/config.hpp"
#include "config/url.hpp"
#include "graph/revision_map.hpp"

namespace luamig::runner {

// The zero-setup database: used when no URL is given anywhere.
extern const char kDefaultUrl[];

struct Project {
  config::GlobalOptions opts;
  config::Config cfg;
  std::unique_ptr<graph::RevisionMap> map;   // loaded by load_graph()

  // Reads the config (throws ConfigError).
  static Project open(const config::GlobalOptions& opts);
  // Loads versions/*.lua into the graph (throws GraphError).
  const graph::RevisionMap& load_graph();
  // The database URL, parsed. With none configured anywhere: kDefaultUrl, a SQLite file in the working directory.
  config::DatabaseUrl database_url() const;
};
}  // namespace luamig::runner
