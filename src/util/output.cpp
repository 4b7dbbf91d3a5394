#include "util/output.hpp"

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace luamig::out {
namespace {
bool g_quiet = false;
bool g_json = false;
bool g_color_out = false;
bool g_color_err = false;
bool g_progress_pending = false;  // a transient progress line is on the terminal without its newline

std::string fmt_cp(uint32_t cp) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(cp));
  return buf;
}

void write_line(FILE* f, std::string_view text) {
  std::fwrite(text.data(), 1, text.size(), f);
  std::fputc('\n', f);
  std::fflush(f);
}
}  // namespace

bool colour_wanted(bool no_color_flag, const char* no_color_env, const char* clicolor_force_env,
                   const char* term_env, bool is_terminal) {
  if (no_color_flag) return false;
  if (no_color_env && *no_color_env) return false;  // no-color.org: an empty value does not count
  if (clicolor_force_env && *clicolor_force_env && std::string_view(clicolor_force_env) != "0") return true;
  if (term_env && std::string_view(term_env) == "dumb") return false;
  return is_terminal;
}

void configure(bool quiet, bool no_color) {
  g_quiet = quiet;
  const char* nc = std::getenv("NO_COLOR");
  const char* force = std::getenv("CLICOLOR_FORCE");
  const char* term = std::getenv("TERM");
  g_color_out = colour_wanted(no_color, nc, force, term, isatty(STDOUT_FILENO) != 0);
  g_color_err = colour_wanted(no_color, nc, force, term, isatty(STDERR_FILENO) != 0);
}

namespace {
std::string escape_impl(std::string_view in, bool keep_lines) {
  static const char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(in.size());
  auto byte_escape = [&](unsigned char c) {
    out += "\\x";
    out += hex[c >> 4];
    out += hex[c & 15];
  };
  size_t i = 0;
  while (i < in.size()) {
    auto c = static_cast<unsigned char>(in[i]);
    if (keep_lines && (c == '\n' || c == '\t')) {
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    if (c < 0x20 || c == 0x7f) {
      switch (c) {
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        default:
          byte_escape(c);
      }
      ++i;
      continue;
    }
    if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    // A UTF-8 sequence: its length from the lead byte, then continuation bytes, no overlong forms, no
    // surrogates.
    size_t len = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    bool valid = len > 0 && i + len <= in.size();
    uint32_t cp = len == 2 ? c & 0x1f : len == 3 ? c & 0x0f : c & 0x07;
    for (size_t k = 1; valid && k < len; ++k) {
      auto cc = static_cast<unsigned char>(in[i + k]);
      if ((cc & 0xc0) != 0x80) valid = false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if (valid && ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
                  (len == 4 && (cp < 0x10000 || cp > 0x10ffff))))
      valid = false;
    if (!valid) {
      byte_escape(c);
      ++i;
      continue;
    }
    if (cp >= 0x80 && cp <= 0x9f) {  // C1 controls (CSI 0x9b among them)
      out += fmt_cp(cp);
    } else {
      out.append(in.substr(i, len));
    }
    i += len;
  }
  return out;
}

}  // namespace

std::string escape(std::string_view in) { return escape_impl(in, false); }
std::string escape_keep_lines(std::string_view in) { return escape_impl(in, true); }

void set_json(bool on) { g_json = on; }
bool json() { return g_json; }

void json_line(std::string_view text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

bool quiet() { return g_quiet; }

std::string paint(Style s, std::string_view text) {
  if (!g_color_out || s == Style::Plain) return std::string(text);
  const char* code = "";
  switch (s) {
    case Style::Bold:
      code = "\033[1m";
      break;
    case Style::Green:
      code = "\033[32m";
      break;
    case Style::Yellow:
      code = "\033[33m";
      break;
    case Style::Red:
      code = "\033[31m";
      break;
    case Style::Dim:
      code = "\033[2m";
      break;
    case Style::Plain:
      break;
  }
  return std::string(code) + std::string(text) + "\033[0m";
}

void line(std::string_view text) {
  if (g_quiet) return;
  progress_end();
  write_line(stderr, escape_keep_lines(text));
}

void data(std::string_view text) { write_line(stdout, text); }

void warn(std::string_view text) {
  if (g_quiet) return;
  progress_end();
  if (g_color_err)
    write_line(stderr, "\033[33m" + escape_keep_lines(text) + "\033[0m");
  else
    write_line(stderr, escape_keep_lines(text));
}

void error(std::string_view text) {
  progress_end();
  if (g_color_err)
    write_line(stderr, "\033[31m" + escape_keep_lines(text) + "\033[0m");
  else
    write_line(stderr, escape_keep_lines(text));
}

void progress(std::string_view raw, bool transient) {
  if (g_quiet) return;
  std::string text = escape_keep_lines(raw);
  if (transient) {
    std::fprintf(stderr, "\r%s\033[K", text.c_str());
    std::fflush(stderr);
    g_progress_pending = true;
    return;
  }
  progress_end();
  write_line(stderr, text);
}

void progress_end() {
  if (!g_progress_pending) return;
  g_progress_pending = false;
  std::fputc('\n', stderr);
  std::fflush(stderr);
}

bool stderr_is_terminal() { return isatty(STDERR_FILENO) != 0; }
bool stdout_is_terminal() { return isatty(STDOUT_FILENO) != 0; }
}  // namespace luamig::out
