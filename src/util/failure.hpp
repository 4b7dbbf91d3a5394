#pragma once
// One value for every failure luamig tells a user about: what kind it is (which decides the exit status, see
// exit_status()), the message, where it happened (file:line, hook), the statement and the database's view of
// it, the Lua traceback and what became of the work. Every luamig::Error carries one (util/error.hpp); code
// that needs the details of a failure reads this value instead of asking which exception class it was.
#include <exception>
#include <optional>
#include <string>

namespace luamig {

enum class FailureKind {
  Usage,      // bad command line or arguments
  Config,     // luamig.lua, hooks files, settings
  Graph,      // the revision graph, targets and ranges
  Refused,    // a command refused before it changed anything (allow_downgrade = false)
  Migration,  // a revision or a hook failed; the report says what became of the work
  Sql,        // a statement the database refused, outside Lua
  Script,     // Lua code failed
  Hook,       // a hooks file's top level or function failed
  Stopped,    // SIGINT/SIGTERM
  Internal,   // anything else (an exception luamig did not classify)
};

struct Failure {
  FailureKind kind = FailureKind::Script;
  std::string message;    // the error message alone, without position
  std::string file;       // the migration/hook file where it happened ("" if unknown or only engine code)
  int line = 0;           // 0 when unknown
  std::string traceback;  // Lua's, unfiltered
  std::optional<std::string> sql, sqlstate, db_message;  // set when a statement failed
  bool timeout = false, memory = false;                  // a Lua time or memory limit ended the call
  std::string hook;       // the hook function ("before_migration", "top level"...) when a hook failed
  std::string hook_file;  // and its file
  int signal = 0;         // Stopped: the signal
  // The whole text for the user, when the layer that knew the context composed it (a failed revision:
  // headline with the consequence, details, where the database is). Empty: main prints "ERROR: <message>".
  std::string report;
};

// The failure an exception carries: a luamig::Error's own value; any other exception becomes an Internal
// failure with its what() as message.
Failure failure_of(const std::exception& error);

// The exit status of a command that ended with `failure`: the one table from kinds to statuses (used by main
// and by --json's summary). Usage, Config, Graph, Refused: 2. Migration, Sql, Script, Hook, Internal: 1.
// Stopped: 128
// + the signal, as a shell reports it.
int exit_status(const Failure& failure);

// What main prints for it: `report` when set, otherwise "ERROR: <message>" ("" when both are empty).
std::string failure_text(const Failure& failure);
}  // namespace luamig
