// The revision header cache (versions/.luamig-cache): what it returns equals a fresh parse, it is rewritten
// only when the directory changed, and an edited, added or removed file is never served from a stale entry.
// The same for the remembered graph heads (versions/.luamig-cache-heads).
#include <fmt/format.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "graph/revision_map.hpp"
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
    out.push_back(r.id + "|" + downs + "|" + r.message + "|" + r.create_date + "|" +
                  fs::path(r.path).filename().string() + "|" + std::to_string(r.line) + "|" +
                  (r.has_downgrade ? "down" : "nodown"));
  }
  return out;
}

fs::file_time_type mtime(const fs::path& p) { return fs::last_write_time(p); }

// File systems with coarse timestamps: make sure a rewrite would show in the cache file's mtime.
void tick() { std::this_thread::sleep_for(std::chrono::milliseconds(20)); }
}  // namespace

TEST_CASE("header cache: a warm load equals a cold one and does not rewrite the cache", "[unit][cache]") {
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

TEST_CASE("header cache: edited, added and removed files are seen", "[unit][cache]") {
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
    proj.write(b2, lt::migration("b9", "a1", "", "", "second"));  // same length, other id
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

TEST_CASE("header cache: a damaged or foreign cache file is ignored and replaced", "[unit][cache]") {
  lt::TempProject proj;
  proj.write_migration("a1", std::nullopt, "", "", "first");
  proj.write_migration("b2", "a1", "", "", "second");
  const fs::path versions = proj.path("migrations/versions");
  auto expected = summary(load_revisions(versions));
  const std::string good = proj.read("migrations/versions/.luamig-cache");

  for (std::string bad : {std::string("not a cache\n"), good.substr(0, good.size() - 3),
                          good + "x\x1f"
                                 "1\x1f"
                                 "2\n",
                          std::string("")}) {
    proj.write("migrations/versions/.luamig-cache", bad);
    CHECK(summary(load_revisions(versions)) == expected);
    CHECK(proj.read("migrations/versions/.luamig-cache") == good);
  }
}

TEST_CASE("header cache: a cache written in another order is still used", "[unit][cache]") {
  lt::TempProject proj;
  for (int i = 0; i < 20; ++i) {
    std::optional<std::string> down;
    if (i) down = fmt::format("r{}", 99 + i);
    proj.write_migration(fmt::format("r{}", 100 + i), down, "", "", fmt::format("m{}", i));
  }
  const fs::path versions = proj.path("migrations/versions");
  auto expected = summary(load_revisions(versions));
  // Reverse the entry lines (the header line stays first): the loader sorts them again.
  std::string text = proj.read("migrations/versions/.luamig-cache");
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1)
    lines.push_back(text.substr(start, nl - start + 1));
  std::string reversed = lines[0];
  for (size_t i = lines.size(); i-- > 1;) reversed += lines[i];
  proj.write("migrations/versions/.luamig-cache", reversed);
  const auto before = mtime(versions / ".luamig-cache");
  tick();
  CHECK(summary(load_revisions(versions)) == expected);
  CHECK(mtime(versions / ".luamig-cache") == before);  // every entry matched: nothing to rewrite
}

TEST_CASE("header cache: a header it cannot store is parsed each time without rewriting the cache",
          "[unit][cache]") {
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

namespace {
// What Project::load_graph does: load, validate, remember the heads.
std::vector<std::string> load_and_remember(const fs::path& versions) {
  uint64_t fingerprint = 0;
  luamig::graph::RevisionMap map(load_revisions(versions, &fingerprint));
  luamig::scripts::remember_heads(versions, fingerprint, map.heads());
  return map.heads();
}
}  // namespace

TEST_CASE("remembered heads: valid only for the very files of the validated load", "[unit][cache]") {
  lt::TempProject proj;
  proj.write_migration("a1", std::nullopt, "", "", "first");
  auto b2 = proj.write_migration("b2", "a1", "", "", "second");
  const fs::path versions = proj.path("migrations/versions");
  using luamig::scripts::remembered_heads;

  CHECK(!remembered_heads(versions));  // never loaded
  CHECK(load_and_remember(versions) == std::vector<std::string>{"b2"});
  REQUIRE(remembered_heads(versions));
  CHECK(*remembered_heads(versions) == std::vector<std::string>{"b2"});

  SECTION("a second head") {
    proj.write_migration("c3", "a1", "", "", "branch");
    CHECK(!remembered_heads(versions));
    CHECK(load_and_remember(versions) == std::vector<std::string>{"b2", "c3"});
    CHECK(*remembered_heads(versions) == std::vector<std::string>{"b2", "c3"});
  }
  SECTION("an edit, same size, new mtime") {
    proj.write(b2, lt::migration("b9", "a1", "", "", "second"));
    fs::last_write_time(proj.path(b2), fs::last_write_time(proj.path(b2)) + std::chrono::seconds(2));
    CHECK(!remembered_heads(versions));
    CHECK(load_and_remember(versions) == std::vector<std::string>{"b9"});
  }
  SECTION("a removed file") {
    proj.remove(b2);
    CHECK(!remembered_heads(versions));
  }
  SECTION("a renamed file") {
    fs::rename(proj.path(b2), versions / "b2_other_name.lua");
    CHECK(!remembered_heads(versions));
  }
  SECTION("a file that breaks the graph: nothing is remembered for it") {
    proj.write_migration("c3", "zz", "", "", "dangling");
    CHECK(!remembered_heads(versions));
    CHECK_THROWS_AS(load_and_remember(versions), luamig::graph::GraphError);
    CHECK(!remembered_heads(versions));
  }
  SECTION("a damaged record") {
    std::string text = proj.read("migrations/versions/.luamig-cache-heads");
    proj.write("migrations/versions/.luamig-cache-heads", text.substr(0, text.size() - 1));
    CHECK(!remembered_heads(versions));
    proj.write("migrations/versions/.luamig-cache-heads", "");
    CHECK(!remembered_heads(versions));
  }
}
