#include "runner/step_options.hpp"

#include <fmt/format.h>

#include "util/error.hpp"

namespace luamig::runner {

bool declared_transactional(const luahost::Script& script, const std::string& path) {
  auto v = script.global("transactional");
  if (v.is_nil()) return true;
  if (v.is_bool()) return v.boolean();
  throw RunError(fmt::format("{}: `transactional` must be true or false, got a {}", path, v.type_name()));
}

std::string indent(const std::string& text, const std::string& prefix) {
  std::string out = prefix;
  for (char c : text) {
    out.push_back(c);
    if (c == '\n') out += prefix;
  }
  return out;
}
}  // namespace luamig::runner
