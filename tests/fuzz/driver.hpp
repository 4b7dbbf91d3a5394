// The body of every libFuzzer target: one input, one property check; a violated property or an unexpected
// exception aborts, so libFuzzer keeps the input as a crash reproducer (./build-fuzz/url_fuzz crash-<hash>).
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string_view>

#include "fuzz/properties.hpp"

#define LUAMIG_FUZZ_TARGET(check)                                           \
  extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) { \
    try {                                                                   \
      check(std::string_view(reinterpret_cast<const char*>(data), size));   \
    } catch (const std::exception& e) {                                     \
      std::fprintf(stderr, "luamig fuzz: %s\n", e.what());                  \
      std::abort();                                                         \
    }                                                                       \
    return 0;                                                               \
  }
