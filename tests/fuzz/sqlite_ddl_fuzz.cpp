// libFuzzer target: see check_sqlite_ddl in tests/fuzz/properties.hpp for the properties checked.
#include "fuzz/driver.hpp"

LUAMIG_FUZZ_TARGET(luamig::fuzz::check_sqlite_ddl)
