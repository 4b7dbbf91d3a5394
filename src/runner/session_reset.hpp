#pragma once
// Each revision starts with the session the first one had: what a revision set for the session (SET
// search_path, SET ROLE, set_config...) is undone before its version row is written, in its transaction. The
// settings the revisions start with (those hooks such as before_run set, e.g. application_name) are
// remembered and restored; luamig's own timeouts are left out.
#include <string>
#include <vector>

#include "db/connection.hpp"
#include "db/echo_connection.hpp"

namespace luamig::runner {

// version_table_schema (`configured`), else the connection's current schema at the start of the run ("" when
// it has none).
std::string pinned_schema(db::Connection& conn, const std::string& configured);

class SessionReset {
 public:
  // `echo`: a dry run's echoing connection (the reset's own statements are not shown), or null.
  SessionReset(db::Connection& conn, db::EchoConnection* echo) : conn_(conn), echo_(echo) {}
  // Remembers the session as it is now. Nothing to do offline or without steps.
  void snapshot();
  // Brings the remembered session back.
  void reset();

 private:
  db::Connection& conn_;
  db::EchoConnection* echo_;
  std::vector<std::string> restore_;  // RESET ALL and the settings the revisions start with
};
}  // namespace luamig::runner
