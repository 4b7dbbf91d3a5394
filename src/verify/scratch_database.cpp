#include "verify/scratch_database.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "config/url.hpp"
#include "db/connection.hpp"
#include "db/version_table.hpp"
#include "util/error.hpp"

namespace luamig::verify {

ScratchDatabase::ScratchDatabase(const std::string& user_url, bool sqlite, bool force,
                                 const VersionTableName& version_table) {
  if (!user_url.empty()) {
    auto url = config::parse_url(user_url);
    url_ = user_url;
    throwaway_ = false;
    description_ = url.masked();
    auto conn = db::connect(url);
    auto snap = take_snapshot(*conn, version_table);
    snap.erase("extension plpgsql");  // in every new PostgreSQL database
    db::VersionTable vt(*conn, version_table.table, version_table.schema);
    bool has_version_table = vt.exists();
    if ((!snap.empty() || has_version_table) && !force) {
      std::string first =
          has_version_table ? "the version table " + version_table.table : snap.begin()->first;
      throw UsageError(fmt::format(
          "{} is not empty (it holds {}{}): verify needs an empty database, or pass --force", description_,
          first, snap.size() > 1 ? fmt::format(" and {} more objects", snap.size() - 1) : ""));
    }
    return;
  }
  if (sqlite) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "luamig-verify-sqlite-XXXXXX").string();
    if (!::mkdtemp(tmpl.data()))
      throw RunError(fmt::format("cannot create a temporary directory: {}", std::strerror(errno)));
    temp_dir_ = tmpl;
    url_ = "sqlite:///" + temp_dir_ + "/verify.db";
    description_ = "a temporary SQLite file";
    return;
  }
  server_ = std::make_unique<EphemeralPostgres>();
  description_ = fmt::format("a throwaway PostgreSQL ({}{})", server_->bin_dir(),
                             server_->run_as().empty() ? "" : ", running as " + server_->run_as());
  url_ = server_->url();
}

ScratchDatabase::~ScratchDatabase() {
  if (!temp_dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(temp_dir_, ec);
  }
}
}  // namespace luamig::verify
