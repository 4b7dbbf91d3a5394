// The revision header cache (versions/.luamig-cache): what it returns equals a fresh parse, it is rewritten only
// when the directory changed, and an edited, added or removed file is never served from a stale entry.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "scripts/cache.hpp"
#include "scripts/loader.hpp"
#include "support/project.hpp"

namespace fs = std::filesystem;
namespace lt = luamig::test;
using luamig::graph::Revision;
using luamig::scripts::load_revisions;

namespace {
// What a command sees of the revisions, path included.
std::vector<std::string> summary(const std::vector<Revision>& revs) {
  std::vector<std::string> out;
  for (const auto& r : revs) {
    std::string downs;
    for (const auto& d : r.down_revisions) downs += d + ",";
    out.push_back(r.id + "|" + downs + "|" + r.message + "|" + r.create_date + "|" + fs::path(r.path).filename().string() +
                  "|" + std::to_string(r.line) + "|" + (r.has_downgrade ? "down" : "nodown"));
  }
  return out;
}

fs::file_time_type mtime(const fs::path& p) { return fs::last_write_time(p); }

// File systems with coarse timestamps: make sure a rewrite would show in the cache file's mtime.
void tick() { std::this_thread::sleep_for(std::chrono::milliseconds(20)); }
}  // namespace

TEST_CASE("header cache: a warm load equals a cold one and does not rewrite the cache", "[cache]") {
  lt::TempProject proj;
  proj.write_migration("a1", std::nullopt, "  op.execute('select 1')", "  op.execute('select 2')", "first");
  proj.write_migration("b2", "a1", "", "", "second");
  proj.write_migration("c3", "b2", "", "", "third");
  const fs::path versions = proj.path("migrations/versions");
  const fs::path cache = versions / ".luamig-cache";

  auto cold = summary(load_revisions(versions));
  REQUIRE(fs::exists(cache));
  const auto written = mtime(cache);
  tick();
  auto warm = summary(load_revisions(versions));
  CHECK(warm == cold);
  CHECK(mtime(cache) == written);
  CHECK(cold.size() == 3);
  CHECK(cold[1].rfind("b2|a1,|second|2026-11-21 10:00:00|b2_second.lua|", 0) == 0);
}

TEST_CASE("header cache: edited, added and removed files are seen", "[cache]") {
  lt::TempProject proj;
  proj.write_migration("a1", std::nullopt, "", "", "first");
  auto b2 = proj.write_migration("b2", "a1", "", "", "second");
  const fs::path versions = proj.path("migrations/versions");
  load_revisions(versions);

  SECTION("an edit that changes the size") {
    proj.write(b2, lt::migration("b2", "a1", "", "", "second, renamed"));
    auto revs = summary(load_revisions(versions));
    REQUIRE(revs.size() == 2);
    CHECK(revs[1].find("|second, renamed|") != std::string::npos);
  }
  SECTION("an edit that keeps the size but changes the mtime") {
    proj.write(b2, lt::migration("b9", "a1", "", "", "second"));   // same length, other id
    fs::last_write_time(proj.path(b2), fs::last_write_time(proj.path(b2)) + std::chrono::seconds(2));
    auto revs = load_revisions(versions);
    REQUIRE(revs.size() == 2);
    CHECK(revs[1].id == "b9");
  }
  SECTION("an added file") {
    proj.write_migration("c3", "b2", "", "", "third");
    auto revs = load_revisions(versions);
    REQUIRE(revs.size() == 3);
    CHECK(revs[2].id == "c3");
  }
  SECTION("a removed file") {
    proj.remove(b2);
    auto revs = load_revisions(versions);
    REQUIRE(revs.size() == 1);
    CHECK(revs[0].id == "a1");
    // ...and the cache no longer holds it: a warm load agrees.
    CHECK(load_revisions(versions).size() == 1);
  }
}

TEST_CASE("header cache: a damaged or foreign cache file is ignored and replaced", "[cache]") {
  lt::TempProject proj;
  proj.write_migration("a1", std::nullopt, "", "", "first");
  proj.write_migration("b2", "a1", "", "", "second");
  const fs::path versions = proj.path("migrations/versions");
  auto expected = summary(load_revisions(versions));
  const std::string good = proj.read("migrations/versions/.luamig-cache");

  for (std::string bad : {std::string("not a cache\n"), good.substr(0, good.size() - 3),
                          good + "x\x1f" "1\x1f" "2\n", std::string("")}) {
    proj.write("migrations/versions/.luamig-cache", bad);
    CHECK(summary(load_revisions(versions)) == expected);
    CHECK(proj.read("migrations/versions/.luamig-cache") == good);
  }
}

TEST_CASE("header cache: a cache written in another order is still used", "[cache]") {
  lt::TempProject proj;
  for (int i = 0; i < 20; ++i)
    proj.write_migration("r" + std::to_string(100 + i), i ? std::optional("r" + std::to_string(99 + i)) : std::nullopt,
                         "", "", "m" + std::to_string(i));
  const fs::path versions = proj.path("migrations/versions");
  auto expected = summary(load_revisions(versions));
  // Reverse the entry lines (the header line stays first): the loader sorts them again.
  std::string text = proj.read("migrations/versions/.luamig-cache");
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) lines.push_back(text.substr(start, nl - start + 1));
  std::string reversed = lines[0];
  for (size_t i = lines.size(); i-- > 1;) reversed += lines[i];
  proj.write("migrations/versions/.luamig-cache", reversed);
  const auto before = mtime(versions / ".luamig-cache");
  tick();
  CHECK(summary(load_revisions(versions)) == expected);
  CHECK(mtime(versions / ".luamig-cache") == before);   // every entry matched: nothing to rewrite
}

TEST_CASE("header cache: a header it cannot store is parsed each time without rewriting the cache", "[cache]") {
  lt::TempProject proj;
  proj.write_migration("a1", std::nullopt, "", "", "first");
  // The message (first comment line) holds the cache's field separator.
  proj.write_migration("b2", "a1", "", "", "odd\x1fmessage");
  const fs::path versions = proj.path("migrations/versions");
  auto first = summary(load_revisions(versions));
  REQUIRE(first.size() == 2);
  CHECK(first[1].find("odd\x1fmessage") != std::string::npos);
  const auto written = mtime(versions / ".luamig-cache");
  tick();
  CHECK(summary(load_revisions(versions)) == first);
  CHECK(mtime(versions / ".luamig-cache") == written);
}
