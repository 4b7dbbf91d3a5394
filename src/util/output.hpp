#pragma once
// The one place that writes user-facing lines.
// Streams: data (what a script captures: ids, listings, JSON, --sql scripts) goes to stdout through data()
// and json_line(); everything else (notices, the environment line, step lines, progress, logs, warnings,
// errors) goes to stderr, so `rev=$(luamig current)` captures the id only. Colour: --no-color or NO_COLOR set
// to a non-empty value disable it; otherwise CLICOLOR_FORCE set to a non-empty value other than "0" forces
// it; otherwise TERM=dumb disables it; otherwise it is on where the stream is a terminal.
#include <string>
#include <string_view>

namespace luamig::out {
enum class Style { Plain, Bold, Green, Yellow, Red, Dim };
void configure(bool quiet, bool no_color);
// Whether colour is wanted for a stream that `is_terminal`, given the environment (see above).
// `no_color_flag` is --no-color. Pure: reads only what it is given.
bool colour_wanted(bool no_color_flag, const char* no_color_env, const char* clicolor_force_env,
                   const char* term_env, bool is_terminal);
// Escapes what a database value or a file's text could use to take over a terminal: C0 control characters
// (newline and tab included: "\n", "\t", "\x1b"...), DEL and the C1 controls U+0080..U+009F become visible
// escapes; bytes that are not valid UTF-8 become "\xNN". Printable text, valid UTF-8 included, passes
// unchanged. Every value from the database (alembic_version rows) or from revision files (ids, messages,
// labels) is printed through this function.
std::string escape(std::string_view value);
// The same, keeping newlines and tabs: applied to every notice, warning and error line written to stderr
// (their texts may quote database values inside multi-line reports).
std::string escape_keep_lines(std::string_view text);
// JSON output mode (--json): human lines keep going to stderr; data is written by json_line().
void set_json(bool on);
bool json();
// One JSON document on its own line on stdout (JSON Lines); never suppressed.
void json_line(std::string_view json_text);
bool quiet();
// A notice on stderr (a step line, "Nothing to do", the environment line); suppressed by -q.
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
// True when stderr / stdout is a terminal.
bool stderr_is_terminal();
bool stdout_is_terminal();
}  // namespace luamig::out
