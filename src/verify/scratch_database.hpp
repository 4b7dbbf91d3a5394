#pragma once
// The database `verify` and `trace` run on: a throwaway PostgreSQL (default), a temporary SQLite file
// (--sqlite), or the empty database of --url.
#include <memory>
#include <string>

#include "verify/catalog_snapshot.hpp"
#include "verify/ephemeral_pg.hpp"

namespace luamig::verify {

class ScratchDatabase {
 public:
  // `user_url` ("" = none): that database, which must hold no schema objects and no version table unless
  // `force` (UsageError, exit 2, naming what it holds). Otherwise starts a throwaway server or creates a
  // temporary file.
  ScratchDatabase(const std::string& user_url, bool sqlite, bool force,
                  const VersionTableName& version_table);
  ~ScratchDatabase();
  ScratchDatabase(const ScratchDatabase&) = delete;
  ScratchDatabase& operator=(const ScratchDatabase&) = delete;

  const std::string& url() const { return url_; }
  // "a throwaway PostgreSQL (/usr/lib/postgresql/15/bin, running as nobody)", "a temporary SQLite file", ...
  const std::string& description() const { return description_; }
  bool throwaway() const { return throwaway_; }

 private:
  std::unique_ptr<EphemeralPostgres> server_;
  std::string url_, description_, temp_dir_;
  bool throwaway_ = true;
};
}  // namespace luamig::verify
