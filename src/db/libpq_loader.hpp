#pragma once
// libpq is loaded on the first PostgreSQL connection, not at process start (libpq_loader.cpp says why).

namespace luamig::db {
// Loads libpq.so.5 if it is not loaded yet. Throws RunError naming the library when it cannot be loaded.
// Nothing to do when libpq is linked as usual (LUAMIG_LAZY_LIBPQ off).
void load_libpq();
}  // namespace luamig::db
