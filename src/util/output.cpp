#include "util/output.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace luamig::out {
namespace {
bool g_quiet = false;
bool g_color_out = false;
bool g_color_err = false;
std::vector<std::string> g_secrets;
bool g_progress_pending = false;   // a transient progress line is on the terminal without its newline

void write_line(FILE* f, std::string_view raw) {
  std::string text = scrub(raw);
  std::fwrite(text.data(), 1, text.size(), f);
  std::fputc('\n', f);
  std::fflush(f);
}
}  // namespace

void add_secret(std::string secret) {
  if (secret.size() >= 3 && std::find(g_secrets.begin(), g_secrets.end(), secret) == g_secrets.end())
    g_secrets.push_back(std::move(secret));
}

size_t secret_count() { return g_secrets.size(); }

void forget_secrets_after(size_t count) {
  if (count < g_secrets.size()) g_secrets.resize(count);
}

std::string scrub(std::string_view in) {
  std::string text(in);
  for (const auto& s : g_secrets) {
    for (size_t pos = text.find(s); pos != std::string::npos; pos = text.find(s, pos + 3)) text.replace(pos, s.size(), "***");
  }
  return text;
}

void configure(bool quiet, bool no_color) {
  g_quiet = quiet;
  bool allowed = !no_color && std::getenv("NO_COLOR") == nullptr;
  g_color_out = allowed && isatty(STDOUT_FILENO);
  g_color_err = allowed && isatty(STDERR_FILENO);
}

bool quiet() { return g_quiet; }

std::string paint(Style s, std::string_view text) {
  if (!g_color_out || s == Style::Plain) return std::string(text);
  const char* code = "";
  switch (s) {
    case Style::Bold: code = "\033[1m"; break;
    case Style::Green: code = "\033[32m"; break;
    case Style::Yellow: code = "\033[33m"; break;
    case Style::Red: code = "\033[31m"; break;
    case Style::Dim: code = "\033[2m"; break;
    case Style::Plain: break;
  }
  return std::string(code) + std::string(text) + "\033[0m";
}

void line(std::string_view text) {
  if (!g_quiet) write_line(stdout, text);
}

void data(std::string_view text) { write_line(stdout, text); }

void warn(std::string_view text) {
  if (g_quiet) return;
  if (g_color_err)
    write_line(stderr, "\033[33m" + std::string(text) + "\033[0m");
  else
    write_line(stderr, text);
}

void error(std::string_view text) {
  if (g_color_err)
    write_line(stderr, "\033[31m" + std::string(text) + "\033[0m");
  else
    write_line(stderr, text);
}

void progress(std::string_view raw, bool transient) {
  if (g_quiet) return;
  std::string text = scrub(raw);
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
}  // namespace luamig::out
