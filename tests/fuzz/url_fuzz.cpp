// libFuzzer target: see check_url in tests/fuzz/properties.hpp for the properties checked.
#include "fuzz/driver.hpp"

LUAMIG_FUZZ_TARGET(luamig::fuzz::check_url)
