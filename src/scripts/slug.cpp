#include "scripts/slug.hpp"

#include <cctype>

namespace luamig::scripts {

// Alembic's file-name slug: "_".join(re.findall(r"\w+", message)).lower(), cut to 40 bytes at a word boundary
// with a trailing "_". Bytes of multi-byte UTF-8 characters count as word characters, as Python's \w does for
// letters; a cut never splits a character.
std::string message_slug(const std::string& message) {
  constexpr size_t kMax = 40;
  std::string s;
  bool in_word = false;
  for (unsigned char c : message) {
    bool word = std::isalnum(c) || c == '_' || c >= 0x80;
    if (word) {
      if (!in_word && !s.empty()) s.push_back('_');
      s.push_back(static_cast<char>(c < 0x80 ? std::tolower(c) : c));
    }
    in_word = word;
  }
  if (s.size() <= kMax) return s;
  s.resize(kMax);
  // Drop a UTF-8 character the cut went through.
  size_t start = s.size();
  while (start > 0 && (static_cast<unsigned char>(s[start - 1]) & 0xC0) == 0x80) --start;
  if (start > 0 && static_cast<unsigned char>(s[start - 1]) >= 0xC0) {
    unsigned char lead = static_cast<unsigned char>(s[start - 1]);
    size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
    if (s.size() - (start - 1) < need) s.resize(start - 1);
  }
  if (auto us = s.rfind('_'); us != std::string::npos) s.resize(us);
  return s + "_";
}

}  // namespace luamig::scripts
