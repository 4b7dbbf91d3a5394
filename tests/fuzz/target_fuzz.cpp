// libFuzzer target: see check_target in tests/fuzz/properties.hpp for the properties checked.
#include "fuzz/driver.hpp"

LUAMIG_FUZZ_TARGET(luamig::fuzz::check_target)
