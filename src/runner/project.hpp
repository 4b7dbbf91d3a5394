#pragma once
// What every command works on: the resolved config, the revision graph, and the database URL.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/url.hpp"
#include "graph/revision_map.hpp"

namespace luamig::runner {

// The zero-setup database: used when no URL is given anywhere.
extern const char kDefaultUrl[];

struct Project {
  config::GlobalOptions opts;
  config::Config cfg;
  std::unique_ptr<graph::RevisionMap> map;  // loaded by load_graph()
  mutable bool default_url_noted = false;   // the zero-setup SQLite note is printed once per command
  bool remembered_read = false;             // remembered_heads() looked
  std::optional<std::vector<std::string>> remembered;  // and found these

  // Reads the config (throws ConfigError).
  static Project open(const config::GlobalOptions& opts);
  // Loads versions/*.lua into the graph (throws GraphError).
  const graph::RevisionMap& load_graph();
  // The graph's heads without loading it, when the files are those of the last validated load (see
  // scripts::remembered_heads); nullopt otherwise. Computed once.
  const std::optional<std::vector<std::string>>& remembered_heads();
  // The database URL, parsed. Throws ConfigError when environments are defined but none was selected, or when
  // the selected environment (one defined in luamig.lua) has no URL. With no environments and no URL
  // anywhere: PostgreSQL from libpq's environment when one of PGHOST, PGUSER, PGDATABASE, PGSERVICE... is
  // set, else kDefaultUrl, a SQLite file in the working directory.
  config::DatabaseUrl database_url() const;
  // Prints "Environment production, database postgresql://app@db:5432/app" (`target`: the connection's
  // resolved target, db::Connection::target(), never with a password): the first line of every command that
  // acts on a database (suppressed by -q).
  void announce(const std::string& target) const;
};
}  // namespace luamig::runner
