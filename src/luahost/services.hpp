#pragma once
// What migration code can ask of the engine's host: implemented by the runner (online, offline, dry-run).
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "util/rows.hpp"

namespace luamig::luahost {

using luamig::Cell;
using luamig::Param;
using luamig::RowStream;

class Services {
 public:
  virtual ~Services() = default;
  // Runs one statement with parameters; returns the affected row count (-1 when unknown, e.g. offline).
  // Throws SqlFailure.
  virtual long long execute(const std::string& sql, const std::vector<Param>& params) = 0;
  // Runs a query and streams its rows. Throws SqlFailure; throws RunError when there is no live database.
  virtual std::unique_ptr<RowStream> query(const std::string& sql, const std::vector<Param>& params) = 0;
  // Commits the work so far, runs `block` outside a transaction, then opens a new transaction.
  virtual void autocommit_block(const std::function<void()>& block) = 0;
  virtual void log(const std::string& level, const std::string& message) = 0;
};
}  // namespace luamig::luahost
