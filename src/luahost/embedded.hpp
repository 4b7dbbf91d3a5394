#pragma once
// Lua sources compiled into the binary (lua/ and stdlib/), generated at build time.
#include <string_view>
#include <vector>

namespace luamig::embedded {
struct File {
  std::string_view path;  // relative to the project root, e.g. "lua/op.lua"
  std::string_view content;
};
const std::vector<File>& files();
// Returns nullptr when no file has that path.
inline const File* find(std::string_view path) {
  for (const auto& f : files())
    if (f.path == path) return &f;
  return nullptr;
}
}  // namespace luamig::embedded
