// Deterministic random-input tests of the hand-written parsers: for each parser, a few thousand inputs made
// by mutating valid samples (seeded, so a failure reproduces), checked against the properties in
// tests/fuzz/properties.hpp. The libFuzzer targets under tests/fuzz/ check the same properties with coverage
// guidance (-DLUAMIG_FUZZ=ON, see CMakePresets.json).
#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <random>
#include <string>

#include "fuzz/properties.hpp"

namespace {

using luamig::fuzz::Target;

// One random edit of `s`: insert, delete, replace, duplicate a span, or splice in part of another seed.
void mutate(std::string& s, std::mt19937_64& rng, const Target& target,
            const std::vector<std::string>& seeds) {
  auto pick = [&](size_t n) { return n == 0 ? size_t{0} : static_cast<size_t>(rng() % n); };
  const std::string alphabet = target.alphabet;
  auto random_char = [&]() -> char {
    switch (rng() % 4) {
      case 0:
        return static_cast<char>(rng() % 256);
      default:
        return alphabet[pick(alphabet.size())];
    }
  };
  switch (rng() % 6) {
    case 0:
      s.insert(s.begin() + static_cast<long>(pick(s.size() + 1)), random_char());
      break;
    case 1:
      if (!s.empty()) s.erase(pick(s.size()), 1 + pick(4));
      break;
    case 2:
      if (!s.empty()) s[pick(s.size())] = random_char();
      break;
    case 3:
      if (!s.empty() && s.size() < 4096) {
        size_t at = pick(s.size()), len = 1 + pick(std::min<size_t>(16, s.size() - at));
        s.insert(pick(s.size() + 1), s.substr(at, len));
      }
      break;
    case 4: {
      const std::string& other = seeds[pick(seeds.size())];
      size_t at = pick(other.size() + 1);
      s.insert(pick(s.size() + 1), other.substr(at, 1 + pick(24)));
      break;
    }
    default:
      if (!s.empty()) s.resize(pick(s.size()));
      break;
  }
}

void run_target(const Target& target, int count, uint64_t seed) {
  std::mt19937_64 rng(seed);
  const auto seeds = target.seeds();
  const auto start = std::chrono::steady_clock::now();
  int checked = 0;
  for (const auto& s : seeds) {
    INFO(fmt::format("{} seed {:?}", target.name, s));
    CHECK_NOTHROW(target.check(s));
    ++checked;
  }
  for (int i = 0; i < count; ++i) {
    std::string input = seeds[rng() % seeds.size()];
    const int edits = 1 + static_cast<int>(rng() % 8);
    for (int e = 0; e < edits; ++e) mutate(input, rng, target, seeds);
    try {
      target.check(input);
    } catch (const std::exception& e) {
      FAIL(fmt::format("{} input #{} (seed {}): {}", target.name, i, seed, e.what()));
    }
    ++checked;
  }
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  CHECK(checked == count + static_cast<int>(seeds.size()));
  INFO(fmt::format("{}: {} inputs in {} ms", target.name, checked, ms));
  CHECK(ms < 5000);
}

const Target& target_named(std::string_view name) {
  for (const auto& t : luamig::fuzz::targets())
    if (t.name == name) return t;
  throw std::logic_error("no fuzz target " + std::string(name));
}

}  // namespace

TEST_CASE("fuzz: database URLs and password masking", "[unit][fuzz]") {
  run_target(target_named("url"), 3000, 1);
}

TEST_CASE("fuzz: revision headers", "[unit][fuzz]") { run_target(target_named("header"), 3000, 2); }

TEST_CASE("fuzz: revision header round trip", "[unit][fuzz]") {
  std::mt19937_64 rng(7);
  const std::string id_chars = "abcdef0123456789_xyz";
  auto id = [&] {
    std::string s;
    const size_t n = 1 + rng() % 14;
    for (size_t i = 0; i < n; ++i) s += id_chars[rng() % id_chars.size()];
    return s;
  };
  auto ids = [&](size_t max) {
    std::vector<std::string> v;
    const size_t n = rng() % (max + 1);
    for (size_t i = 0; i < n; ++i) v.push_back(id());
    return v;
  };
  for (int i = 0; i < 2000; ++i) {
    luamig::fuzz::HeaderSpec spec;
    spec.revision = id();
    spec.down_revisions = ids(3);
    spec.down_as_list = rng() % 2 == 0;
    spec.branch_labels = ids(1);
    spec.depends_on = ids(2);
    spec.message = "change " + id() + (rng() % 2 ? " and " + id() : "");
    spec.quote = "\"'["[rng() % 3];
    CHECK_NOTHROW(luamig::fuzz::check_header_round_trip(spec));
  }
}

TEST_CASE("fuzz: revision targets and relative steps", "[unit][fuzz]") {
  run_target(target_named("target"), 3000, 3);
}

TEST_CASE("fuzz: inline-parameter scanner agrees with the statement-shape scanner", "[unit][fuzz]") {
  run_target(target_named("inline_params"), 3000, 4);
}

TEST_CASE("fuzz: durations and sizes agree with a reference", "[unit][fuzz]") {
  run_target(target_named("duration"), 3000, 5);
}

TEST_CASE("fuzz: statement shapes", "[unit][fuzz]") { run_target(target_named("statement_shape"), 3000, 6); }

TEST_CASE("fuzz: SQLite CREATE TABLE tokenizer (lua/sqlite_ddl.lua)", "[unit][fuzz]") {
  run_target(target_named("sqlite_ddl"), 2000, 7);
}

TEST_CASE("fuzz: Python tokenizer of import-alembic", "[unit][fuzz]") {
  run_target(target_named("py_tokenizer"), 3000, 8);
}
