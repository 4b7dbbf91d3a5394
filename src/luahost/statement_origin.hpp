#pragma once
// Where in a migration file the statement being run comes from, for tools that watch statements (`luamig
// trace`).
#include <string>

namespace luamig::luahost {

struct SourcePosition {
  std::string file;  // "" when no migration or hook file is on the Lua stack
  int line = 0;
};

// The innermost migration (or hook) file frame on the Lua stack when the statement now being run was handed
// to the host (op.execute, op.add_column, ...): the line of the op call in the migration. Set by every
// host.execute, host.query and host.send on this thread; empty before the first.
const SourcePosition& statement_origin();

// The line where the file's top level defines global function `name` (debug info of the loaded chunk),
// running the file's top level without a database, as reading a header does. 0 when it is not a function.
// Throws ScriptError.
int function_definition_line(const std::string& path, const std::string& source, const std::string& name);
}  // namespace luamig::luahost
