#pragma once
// The connection of offline mode (--sql): executes nothing, prints every statement as SQL text for psql.
#include <functional>
#include <memory>
#include <string>

#include "db/connection.hpp"

namespace luamig::db {

// Every statement is written through `sink` (one call per statement, ending in ';'), parameters inlined as
// quoted literals; BEGIN/COMMIT are printed; execute() returns -1 (row count unknown). Reading is impossible:
// fetch() and stream() throw RunError with a message that says why. COPY is printed as COPY ... FROM stdin
// with its data, which psql replays.
std::unique_ptr<Connection> script_writer(std::unique_ptr<dialect::Dialect> dialect,
                                          std::function<void(const std::string&)> sink);
}  // namespace luamig::db
