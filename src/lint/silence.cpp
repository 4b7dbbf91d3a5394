#include "lint/silence.hpp"

#include <regex>

namespace luamig::lint {

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string::npos) {
      if (start < text.size()) out.push_back(text.substr(start));
      break;
    }
    out.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

std::optional<std::string> allowed_by_comment(const std::vector<std::string>& lines, int line,
                                              const std::string& rule) {
  static const std::regex allow(
      R"(--\s*luamig:\s*allow\s+([A-Za-z0-9_\-]+(?:\s*,\s*[A-Za-z0-9_\-]+)*)\s*(.*))");
  static const std::regex comma(R"(\s*,\s*)");
  for (int l : {line, line - 1}) {
    if (l < 1 || static_cast<size_t>(l) > lines.size()) continue;
    const auto& text = lines[static_cast<size_t>(l - 1)];
    if (text.find("luamig:") == std::string::npos) continue;
    std::smatch m;
    if (!std::regex_search(text, m, allow)) continue;
    std::string list = m[1].str();
    for (std::sregex_token_iterator it(list.begin(), list.end(), comma, -1), end; it != end; ++it) {
      if (*it == rule || *it == "all") {
        std::string reason = m[2].str();
        while (!reason.empty() && (reason.back() == ' ' || reason.back() == '\r')) reason.pop_back();
        if (reason.size() >= 2 && reason.substr(reason.size() - 2) == "]]") reason.resize(reason.size() - 2);
        return reason;
      }
    }
  }
  return std::nullopt;
}
}  // namespace luamig::lint
