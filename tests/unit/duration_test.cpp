// Durations and sizes in luamig.lua (src/util/duration).
#include "util/duration.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "util/error.hpp"

using Catch::Matchers::Contains;
using luamig::ConfigError;
using luamig::format_duration;
using luamig::parse_duration;
using luamig::parse_size;
using std::chrono::milliseconds;

namespace {
std::string duration_error(const std::string& text) {
  try {
    parse_duration(text, "luamig.lua: lua_time_limit");
  } catch (const ConfigError& e) {
    CHECK(e.failure.kind == luamig::FailureKind::Config);  // exit status 2 (main.cpp)
    return e.what();
  }
  return "<no error>";
}
std::string size_error(const std::string& text) {
  try {
    parse_size(text, "luamig.lua: lua_memory_limit");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "<no error>";
}
}  // namespace

TEST_CASE("parse_duration units", "[unit][duration]") {
  CHECK(parse_duration("250ms", "t") == milliseconds(250));
  CHECK(parse_duration("60s", "t") == milliseconds(60000));
  CHECK(parse_duration("60", "t") == milliseconds(60000));  // bare number = seconds
  CHECK(parse_duration("1.5s", "t") == milliseconds(1500));
  CHECK(parse_duration("0.5", "t") == milliseconds(500));
  CHECK(parse_duration("10min", "t") == milliseconds(600000));
  CHECK(parse_duration("10m", "t") == milliseconds(600000));
  CHECK(parse_duration("2 minutes", "t") == milliseconds(120000));
  CHECK(parse_duration("2h", "t") == milliseconds(7200000));
  CHECK(parse_duration("1 hour", "t") == milliseconds(3600000));
  CHECK(parse_duration("  30 SEC  ", "t") == milliseconds(30000));
  CHECK(parse_duration("0", "t") == milliseconds(0));
  CHECK(parse_duration("0s", "t") == milliseconds(0));
}

TEST_CASE("parse_duration errors name the setting and the text", "[unit][duration]") {
  auto e = duration_error("abc");
  CHECK_THAT(e, Contains("luamig.lua: lua_time_limit") && Contains("'abc'") && Contains("not a duration"));
  CHECK_THAT(duration_error(""), Contains("not a duration"));
  CHECK_THAT(duration_error("-1s"), Contains("not a duration"));
  CHECK_THAT(duration_error("5 fortnights"), Contains("unknown unit 'fortnights'"));
  CHECK_THAT(duration_error("5x"), Contains("unknown unit"));
  CHECK_THAT(duration_error("inf"), Contains("not a duration"));
  CHECK_THAT(duration_error("nan"), Contains("not a duration"));
  CHECK_THAT(duration_error("1e300h"), Contains("too long"));
}

TEST_CASE("parse_size units", "[unit][duration]") {
  CHECK(parse_size("1048576", "m") == 1048576);
  CHECK(parse_size("100b", "m") == 100);
  CHECK(parse_size("64KiB", "m") == 64 * 1024);
  CHECK(parse_size("64k", "m") == 64 * 1024);
  CHECK(parse_size("512MiB", "m") == size_t{512} << 20);
  CHECK(parse_size("512 MB", "m") == size_t{512} << 20);
  CHECK(parse_size("1GiB", "m") == size_t{1} << 30);
  CHECK(parse_size("1.5g", "m") == (size_t{3} << 29));
  CHECK(parse_size("0", "m") == 0);
}

TEST_CASE("parse_size errors", "[unit][duration]") {
  CHECK_THAT(size_error("lots"), Contains("luamig.lua: lua_memory_limit") && Contains("not a size"));
  CHECK_THAT(size_error("-5MiB"), Contains("not a size"));
  CHECK_THAT(size_error("5TiB"), Contains("unknown unit 'tib'"));
  CHECK_THAT(size_error("inf"), Contains("not a size"));
  CHECK_THAT(size_error("1e30GiB"), Contains("too large"));
}

TEST_CASE("format_duration", "[unit][duration]") {
  using std::chrono::nanoseconds;
  CHECK(format_duration(nanoseconds(0)) == "0 ms");
  CHECK(format_duration(milliseconds(14)) == "14 ms");
  CHECK(format_duration(nanoseconds(14'600'000)) == "15 ms");
  CHECK(format_duration(milliseconds(999)) == "999 ms");
  CHECK(format_duration(nanoseconds(999'600'000)) == "1.00 s");
  CHECK(format_duration(milliseconds(1200)) == "1.20 s");
  CHECK(format_duration(milliseconds(59'990)) == "59.99 s");
  CHECK(format_duration(milliseconds(123'000)) == "2 min 3 s");
}
