#pragma once
// The one place that writes user-facing lines. Colours only on a terminal with NO_COLOR unset.
#include <string>
#include <string_view>

namespace luamig::out {
enum class Style { Plain, Bold, Green, Yellow, Red, Dim };
void configure(bool quiet, bool no_color);
bool quiet();
// A normal progress line on stdout; suppressed by -q.
void line(std::string_view text);
// Colours `text` when colour output is on.
std::string paint(Style, std::string_view text);
// A warning on stderr (suppressed by -q).
void warn(std::string_view text);
// An error on stderr; never suppressed.
void error(std::string_view text);
// Raw stdout output for data commands (history, heads...): never suppressed.
void data(std::string_view text);
// Progress of a long operation on stderr (suppressed by -q). `transient`: rewrite the current terminal line
// ("\r...") instead of adding one; finish a run of transient updates with progress_end().
void progress(std::string_view text, bool transient);
void progress_end();
// True when stderr is a terminal.
bool stderr_is_terminal();
}  // namespace luamig::out

namespace luamig::out {
// Registers a secret (a database password): every later line written through this module has it replaced by ***.
void add_secret(std::string secret);
// How many secrets are registered, and forgetting those registered after the first `count`: for code that parses
// many URLs in one process and must leave the registry as it found it (the random-input tests).
size_t secret_count();
void forget_secrets_after(size_t count);
// Replaces every registered secret in `text`.
std::string scrub(std::string_view text);
}  // namespace luamig::out
