#include "util/duration.hpp"

#include <fmt/format.h>

#include <cctype>
#include <cmath>
#include <cstdlib>

#include "util/error.hpp"

namespace luamig {
namespace {
std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

// Splits "10min" into 10 and "min"; false when the number part is missing or malformed.
bool split_number(const std::string& t, double& value, std::string& unit) {
  if (t.empty()) return false;
  char* end = nullptr;
  value = std::strtod(t.c_str(), &end);
  if (end == t.c_str() || !std::isfinite(value) || value < 0) return false;
  unit = trim(end);
  for (auto& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return true;
}
}  // namespace

std::chrono::milliseconds parse_duration(std::string_view text, std::string_view what) {
  std::string t = trim(text);
  double v;
  std::string unit;
  if (!split_number(t, v, unit))
    throw ConfigError(
        fmt::format("{}: '{}' is not a duration (use e.g. \"500ms\", \"60s\", \"10min\", \"2h\")", what, t));
  double ms;
  if (unit.empty() || unit == "s" || unit == "sec" || unit == "secs" || unit == "second" || unit == "seconds")
    ms = v * 1000;
  else if (unit == "ms")
    ms = v;
  else if (unit == "min" || unit == "m" || unit == "mins" || unit == "minute" || unit == "minutes")
    ms = v * 60000;
  else if (unit == "h" || unit == "hour" || unit == "hours")
    ms = v * 3600000;
  else
    throw ConfigError(fmt::format("{}: unknown unit '{}' in '{}' (use ms, s, min or h)", what, unit, t));
  // A bound that keeps now() + d representable in nanoseconds (clock deadlines): about 31 years.
  if (ms > 1e12) throw ConfigError(fmt::format("{}: '{}' is too long", what, t));
  return std::chrono::milliseconds(static_cast<long long>(ms));
}

size_t parse_size(std::string_view text, std::string_view what) {
  std::string t = trim(text);
  double v;
  std::string unit;
  if (!split_number(t, v, unit))
    throw ConfigError(fmt::format("{}: '{}' is not a size (use e.g. \"512MiB\", \"1GiB\")", what, t));
  double mult;
  if (unit.empty() || unit == "b")
    mult = 1;
  else if (unit == "k" || unit == "kb" || unit == "kib")
    mult = 1024.0;
  else if (unit == "m" || unit == "mb" || unit == "mib")
    mult = 1024.0 * 1024;
  else if (unit == "g" || unit == "gb" || unit == "gib")
    mult = 1024.0 * 1024 * 1024;
  else
    throw ConfigError(fmt::format("{}: unknown unit '{}' in '{}' (use KiB, MiB or GiB)", what, unit, t));
  if (v * mult > 1e18) throw ConfigError(fmt::format("{}: '{}' is too large", what, t));
  return static_cast<size_t>(v * mult);
}

std::string format_duration(std::chrono::nanoseconds d) {
  double ms = std::chrono::duration<double, std::milli>(d).count();
  if (std::llround(ms) < 1000) return fmt::format("{} ms", std::llround(ms));
  if (ms < 60000) return fmt::format("{:.2f} s", ms / 1000);
  long long s = static_cast<long long>(ms / 1000);
  return fmt::format("{} min {} s", s / 60, s % 60);
}
}  // namespace luamig
