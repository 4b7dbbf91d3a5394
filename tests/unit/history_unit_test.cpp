// Pure logic of the history: checksums and their normalisation, the chain, validation, luamig.sum.

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "graph/revision_map.hpp"
#include "history/checksum.hpp"
#include "history/file_checksums.hpp"
#include "history/record.hpp"
#include "history/sum_file.hpp"
#include "history/validate.hpp"
#include "support/project.hpp"
#include "util/sha256.hpp"

using namespace luamig::history;
using Catch::Matchers::Contains;

TEST_CASE("history checksum: line endings and trailing newlines do not count", "[unit]") {
  const std::string lf = "revision = \"a\"\nfunction upgrade()\n  op.execute(\"x\")\nend\n";
  std::string crlf, cr;
  for (char c : lf) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  for (char c : lf) cr += c == '\n' ? '\r' : c;
  CHECK(checksums_of(lf).checksum == checksums_of(crlf).checksum);
  CHECK(checksums_of(lf).checksum == checksums_of(cr).checksum);
  CHECK(checksums_of(lf).checksum == checksums_of(lf + "\n\n").checksum);
  CHECK(checksums_of(lf).checksum == checksums_of(lf.substr(0, lf.size() - 1)).checksum);
  CHECK(checksums_of(lf).checksum == luamig::sha256_hex(lf.substr(0, lf.size() - 1)));
  // Other whitespace does count in the checksum, not in the normalised one
  CHECK(checksums_of(lf).checksum != checksums_of("  " + lf).checksum);
  CHECK(checksums_of(lf).normalised == checksums_of("  " + lf).normalised);
}

TEST_CASE("history checksum: normalise_lua strips comments and collapses whitespace outside strings",
          "[unit]") {
  CHECK(normalise_lua("local a = 1 -- one\nlocal b=2") == "local a=1 local b=2");
  CHECK(normalise_lua("--[[ long\ncomment ]] x  =  y") == "x=y");
  CHECK(normalise_lua("--[==[ a ]] still ]==]x") == "x");
  CHECK(normalise_lua("#!/usr/bin/lua\nx = 1") == "x=1");
  // Tokens never merge: two minus signs stay apart (else they would start a comment), as do words and dots
  CHECK(normalise_lua("x = a - -1") == "x=a- -1");
  CHECK(normalise_lua("a . . b") == "a. .b");
  CHECK(normalise_lua("x = 1 .. y") == "x=1 ..y");
  CHECK(normalise_lua("return a  b") == "return a b");
  // Strings are kept byte for byte, comment markers and spaces inside them included
  CHECK(normalise_lua("s = 'a  -- b'") == "s='a  -- b'");
  CHECK(normalise_lua("s = \"a \\\" -- b\"") == "s=\"a \\\" -- b\"");
  CHECK(normalise_lua("s = [[ x  -- y ]]") == "s=[[ x  -- y ]]");
  CHECK(normalise_lua("s = [=[ ]] -- ]=] -- c") == "s=[=[ ]] -- ]=]");
  // A change inside a string is a real change
  CHECK(checksums_of("op.execute('DROP TABLE a')").normalised !=
        checksums_of("op.execute('DROP TABLE b')").normalised);
  CHECK(checksums_of("op.execute('a  b')").normalised != checksums_of("op.execute('a b')").normalised);
  // Adding or removing a comment or reindenting does not change the normalised checksum
  CHECK(checksums_of("function upgrade()\n  op.execute('x')\nend").normalised ==
        checksums_of("-- why\nfunction upgrade()\n\top.execute('x') -- run it\nend\n").normalised);
}

namespace {
Row row(long long seq, std::string rev, std::string kind, std::string sum, std::string norm,
        std::string before, std::string after) {
  Row r;
  r.seq = seq;
  r.revision = rev;
  r.kind = kind;
  r.outcome = "success";
  r.checksum = sum;
  r.normalised = norm;
  r.checksum_algorithm = kChecksumAlgorithm;
  r.heads_before = before;
  r.heads_after = after;
  r.started_at = r.finished_at = "2026-01-01T00:00:00.000Z";
  return r;
}

std::vector<Row> chained(std::vector<Row> rows) {
  std::string prev = kGenesisChain;
  for (auto& r : rows) {
    r.chain = chain_of(prev, r);
    prev = r.chain;
  }
  return rows;
}

luamig::graph::RevisionMap map_ab() {
  luamig::graph::Revision a, b;
  a.id = "a";
  a.path = "versions/a.lua";
  b.id = "b";
  b.path = "versions/b.lua";
  b.down_revisions = {"a"};
  return luamig::graph::RevisionMap({a, b});
}
}  // namespace

TEST_CASE("history chain: the encoding is netstrings in field order, NULL as '-,'", "[unit]") {
  Row r = row(1, "a", "upgrade", "s", "n", "", "a");
  r.plan_checksum.reset();
  auto e = encode(r);
  CHECK(e.rfind("1:1,1:a,7:upgrade,7:success,0:,1:a,1:s,1:n,1:1,-,", 0) == 0);
  CHECK(chain_of(kGenesisChain, r) == luamig::sha256_hex(kGenesisChain + e));
  // A field boundary cannot be moved without changing the encoding
  Row shifted = r;
  shifted.heads_before = "a";
  shifted.heads_after = "";
  CHECK(encode(shifted) != e);
}

TEST_CASE("history chain: edits, deletions and swaps name the first bad row", "[unit]") {
  auto rows =
      chained({row(1, "a", "upgrade", "sa", "na", "", "a"), row(2, "b", "upgrade", "sb", "nb", "a", "b"),
               row(3, "b", "downgrade", "sb", "nb", "b", "a"), row(4, "b", "upgrade", "sb", "nb", "a", "b")});
  CHECK_FALSE(verify_chain(rows));
  SECTION("edit") {
    rows[1].checksum = "other";
    auto f = verify_chain(rows);
    REQUIRE(f);
    CHECK(f->seq == 2);
    CHECK_THAT(f->message, Contains("seq 2") && Contains("revision b") && Contains("chain mismatch"));
  }
  SECTION("delete") {
    rows.erase(rows.begin() + 1);
    auto f = verify_chain(rows);
    REQUIRE(f);
    CHECK(f->seq == 3);
  }
  SECTION("delete and renumber") {
    rows.erase(rows.begin() + 1);
    rows[1].seq = 2;
    rows[2].seq = 3;
    auto f = verify_chain(rows);
    REQUIRE(f);
    CHECK(f->seq == 2);
  }
  SECTION("swap two rows' contents, keeping seq") {
    std::swap(rows[1], rows[2]);
    std::swap(rows[1].seq, rows[2].seq);
    auto f = verify_chain(rows);
    REQUIRE(f);
    CHECK(f->seq == 2);
  }
  SECTION("the chain column itself") {
    rows[3].chain[0] = rows[3].chain[0] == 'a' ? 'b' : 'a';
    auto f = verify_chain(rows);
    REQUIRE(f);
    CHECK(f->seq == 4);
  }
}

TEST_CASE("history validate: edited, comment-only, missing, unknown, repaired, old algorithm", "[unit]") {
  auto map = map_ab();
  auto rows =
      chained({row(1, "a", "upgrade", "sa", "na", "", "a"), row(2, "b", "upgrade", "sb", "nb", "a", "b")});
  std::map<std::string, CurrentFile> files = {{"a", {"versions/a.lua", {"sa", "na"}}},
                                              {"b", {"versions/b.lua", {"sb", "nb"}}}};
  auto lookup = [&](const std::string& id) -> std::optional<CurrentFile> {
    auto it = files.find(id);
    if (it == files.end()) return std::nullopt;
    return it->second;
  };
  CHECK(validate(rows, {"b"}, map, lookup).ok());
  CHECK(validate(rows, {"b"}, map, lookup).checked == 2);
  SECTION("edited") {
    files["a"].sums = {"sa2", "na2"};
    auto r = validate(rows, {"b"}, map, lookup);
    CHECK_FALSE(r.ok());
    REQUIRE(r.findings.size() == 1);
    CHECK(r.findings[0].kind == Finding::Kind::Edited);
    CHECK_THAT(r.findings[0].message,
               Contains("versions/a.lua") && Contains("revision a") && Contains("repair"));
  }
  SECTION("comments only") {
    files["a"].sums = {"sa2", "na"};
    auto r = validate(rows, {"b"}, map, lookup);
    CHECK(r.ok());
    REQUIRE(r.findings.size() == 1);
    CHECK(r.findings[0].kind == Finding::Kind::CommentsOnly);
  }
  SECTION("missing file") {
    files.erase("b");
    auto r = validate(rows, {"b"}, map, lookup);
    CHECK_FALSE(r.ok());
    CHECK(r.findings[0].kind == Finding::Kind::Missing);
  }
  SECTION("unknown revision in the version table") {
    auto r = validate(rows, {"zz"}, map, lookup);
    CHECK_FALSE(r.ok());
    bool unknown = false, external = false;
    for (const auto& f : r.findings) {
      unknown = unknown || f.kind == Finding::Kind::Unknown;
      external = external || f.kind == Finding::Kind::External;
    }
    CHECK(unknown);
    CHECK(external);
  }
  SECTION("repair accepts the new checksum") {
    files["a"].sums = {"sa2", "na2"};
    rows.push_back(row(3, "a", "repair", "sa2", "na2", "b", "b"));
    rows = chained(rows);
    CHECK(validate(rows, {"b"}, map, lookup).ok());
  }
  SECTION("a revision the version table no longer holds (stamped away, table dropped) is not compared") {
    files["b"].sums = {"x", "y"};
    CHECK(validate(rows, {"a"}, map, lookup).ok());
    CHECK(validate(rows, {}, map, lookup).ok());
    files.erase("a");  // but a file missing from the graph is reported whatever the version table says
    CHECK_FALSE(validate(rows, {}, luamig::graph::RevisionMap({}), lookup).ok());
  }
  SECTION("a downgraded revision is no longer checked") {
    files["b"].sums = {"x", "y"};
    rows.push_back(row(3, "b", "downgrade", "sb", "nb", "b", "a"));
    rows = chained(rows);
    CHECK(validate(rows, {"a"}, map, lookup).ok());
  }
  SECTION("another checksum algorithm re-baselines with a warning") {
    rows[0].checksum_algorithm = 0;
    rows = chained(rows);
    files["a"].sums = {"other", "other"};
    auto r = validate(rows, {"b"}, map, lookup);
    CHECK(r.ok());
    REQUIRE(r.findings.size() == 1);
    CHECK(r.findings[0].kind == Finding::Kind::AlgorithmOld);
  }
}

TEST_CASE("history sum file: round trip and mismatches", "[unit]") {
  SumFile s;
  s.files = {{"a.lua", std::string(64, '1')}, {"b.lua", std::string(64, '2')}};
  s.total = luamig::sha256_hex("a.lua " + std::string(64, '1') + "\nb.lua " + std::string(64, '2') + "\n");
  auto text = render_sum(s);
  auto back = parse_sum(text);
  CHECK(back.files == s.files);
  CHECK(compare_sums(back, s).empty());
  SumFile changed = s;
  changed.files["b.lua"] = std::string(64, '3');
  changed.files["c.lua"] = std::string(64, '4');
  auto d = compare_sums(s, changed);
  REQUIRE(d.size() == 2);
  CHECK(d[0].file == "b.lua");
  CHECK(d[0].problem == "changed");
  CHECK(d[1].file == "c.lua");
  CHECK(d[1].problem == "added");
  // A hand-merged file whose total was not recomputed
  SumFile merged = s;
  merged.files["c.lua"] = std::string(64, '4');
  auto m = compare_sums(merged, merged);
  REQUIRE(m.size() == 1);
  CHECK(m[0].problem == "total");
  CHECK_THROWS_WITH(parse_sum("<<<<<<< HEAD\n"), Contains("line 1"));
  CHECK_THROWS_WITH(parse_sum("luamig-sum 1 x\n<<<<<<< HEAD\n"), Contains("line 2"));
}

TEST_CASE("history checksum cache: files are hashed again only when their size or mtime changed", "[unit]") {
  namespace fs = std::filesystem;
  luamig::test::TempProject tmp;  // a fresh directory, removed at the end
  const fs::path dir = tmp.path();
  auto file = dir / "a1.lua";
  auto write = [&](const std::string& text) { tmp.write("a1.lua", text); };
  write("revision = 'a1'\n");
  {
    FileChecksumCache cache(dir);
    REQUIRE(cache.get(file));
    CHECK(cache.get(file)->checksum == checksums_of("revision = 'a1'\n").checksum);
    CHECK(cache.hashed() == 1);
  }
  {
    FileChecksumCache cache(dir);  // read back from .luamig-cache-checksums
    CHECK(cache.get(file)->checksum == checksums_of("revision = 'a1'\n").checksum);
    CHECK(cache.hashed() == 0);
  }
  write("revision = 'a1' -- edited\n");
  {
    FileChecksumCache cache(dir);
    CHECK(cache.get(file)->checksum == checksums_of("revision = 'a1' -- edited\n").checksum);
    CHECK(cache.hashed() == 1);
  }
  // Same size, different content and mtime
  write("revision = 'b1' -- edited\n");
  fs::last_write_time(file, fs::last_write_time(file) + std::chrono::seconds(5));
  {
    FileChecksumCache cache(dir);
    CHECK(cache.get(file)->checksum == checksums_of("revision = 'b1' -- edited\n").checksum);
    CHECK(cache.hashed() == 1);
  }
  CHECK_FALSE(FileChecksumCache(dir).get(dir / "missing.lua"));
}
