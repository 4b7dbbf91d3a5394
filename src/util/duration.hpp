#pragma once
#include <chrono>
#include <string>
#include <string_view>

namespace luamig {
// Parses "250ms", "60s", "10min", "2h", "1.5s"; a bare number means seconds; "0" means none.
// Throws ConfigError naming `what` on bad input.
std::chrono::milliseconds parse_duration(std::string_view text, std::string_view what);
// Parses "512MiB", "64MB", "1GiB", "1048576"; throws ConfigError naming `what`.
size_t parse_size(std::string_view text, std::string_view what);
// "14 ms", "1.20 s", "2 min 3 s".
std::string format_duration(std::chrono::nanoseconds d);
}  // namespace luamig
