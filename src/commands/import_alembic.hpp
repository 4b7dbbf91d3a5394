#pragma once
// `luamig import-alembic`: one luamig revision file per Alembic revision, same ids and graph.
#include <string>
#include <vector>

#include "config/config.hpp"
#include "importer/translator.hpp"

namespace luamig::commands {

struct ImportAlembicOptions {
  std::string versions_dir;  // the Alembic project's versions/ directory
  bool dry_run = false;      // list what would be written
  bool force = false;        // overwrite existing files
};

struct ImportSummary {
  struct Manual {
    std::string source;   // the Python file name
    std::string written;  // the Lua file, relative to the working directory
    std::vector<importer::ManualPart> parts;
  };
  int total = 0;
  int translated = 0;  // files without manual parts
  std::vector<Manual> manual;
};

// Reads every revision file first and writes nothing when any of them cannot be read as a revision
// (UsageError listing file:line for each) or when a target file exists and `force` is off.
ImportSummary import_alembic(const config::GlobalOptions&, const ImportAlembicOptions&);

}  // namespace luamig::commands
