#pragma once
// What a migration file declares about how it must run, read from its globals after loading.
#include <string>

#include "luahost/engine.hpp"

namespace luamig::runner {

// `transactional = false` at the top of a file: upgrade()/downgrade() run with no transaction (for statements
// PostgreSQL refuses inside one), and the version table is updated in a transaction of its own right after.
// nil (the default) or true: the step runs in a transaction. Any other value is a RunError naming the file.
bool declared_transactional(const luahost::Script& script, const std::string& path);

// Indents every line of `text` by `prefix` (statement listings of dry runs).
std::string indent(const std::string& text, const std::string& prefix);
}  // namespace luamig::runner
