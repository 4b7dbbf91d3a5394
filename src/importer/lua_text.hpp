#pragma once
// Lua source fragments: string literals and identifiers as keys.
#include <string>
#include <string_view>

namespace luamig::importer {

// A Lua string literal that reads back as exactly `s`: "..." with escapes, or a long bracket [==[...]==] for
// multi-line text (SQL keeps its layout).
std::string lua_quote(std::string_view s);

// `key` when it is a Lua identifier, otherwise `["key"]`: for table constructors.
std::string lua_key(std::string_view key);

}  // namespace luamig::importer
