// Reading modules from lib/: regular files of bounded size inside lib/ only, never blocking.
#include "luahost/module_file.hpp"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "support/project.hpp"

using namespace luamig::luahost;
namespace fs = std::filesystem;
using Catch::Matchers::Contains;

namespace {
std::string refusal(const luamig::test::TempProject& d, const std::string& rel, size_t max = 1000) {
  try {
    read_module_file(d.path("lib").string(), rel, "m", max);
  } catch (const ModuleFileError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("read_module_file reads regular files and symlinks inside lib", "[unit][sandbox]") {
  luamig::test::TempProject d;
  d.write("lib/a.lua", "return 1");
  d.write("lib/sub/b.lua", "return 2");
  fs::create_symlink("sub/b.lua", d.path("lib/c.lua"));
  CHECK(read_module_file(d.path("lib").string(), "a.lua", "a", 100) ==
        std::optional<std::string>("return 1"));
  CHECK(read_module_file(d.path("lib").string(), "c.lua", "c", 100) ==
        std::optional<std::string>("return 2"));
  CHECK_FALSE(read_module_file(d.path("lib").string(), "missing.lua", "missing", 100));
}

TEST_CASE("read_module_file refuses what is not a bounded regular file inside lib", "[unit][sandbox]") {
  luamig::test::TempProject d;
  d.write("outside.lua", "return 1");
  d.write("lib/big.lua", std::string(1001, 'x'));
  d.write("lib/exact.lua", std::string(1000, 'x'));
  fs::create_symlink("/dev/zero", d.path("lib/zero.lua"));
  fs::create_symlink("../outside.lua", d.path("lib/out.lua"));
  fs::create_symlink("nowhere.lua", d.path("lib/dangling.lua"));
  fs::create_directories(d.path("lib/dir.lua"));
  REQUIRE(::mkfifo(d.path("lib/fifo.lua").c_str(), 0600) == 0);
  CHECK_THAT(refusal(d, "zero.lua"), Contains("is a symlink to /dev/zero (a character device)"));
  CHECK_THAT(refusal(d, "zero.lua"), Contains("require 'm'"));
  CHECK_THAT(refusal(d, "out.lua"), Contains("outside"));
  CHECK_THAT(refusal(d, "dangling.lua"), Contains("does not exist"));
  CHECK_THAT(refusal(d, "dir.lua"), Contains("is a directory"));
  CHECK_THAT(refusal(d, "fifo.lua"), Contains("is a FIFO"));
  CHECK_THAT(refusal(d, "big.lua"), Contains("is larger than 1000 bytes"));
  CHECK(refusal(d, "exact.lua").empty());
}
