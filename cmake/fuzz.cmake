# libFuzzer targets (-DLUAMIG_FUZZ=ON, with clang; see the "fuzz" preset and scripts/fuzz.sh): one executable per
# tests/fuzz/<name>_fuzz.cpp, checking the properties in tests/fuzz/properties.cpp. Everything is instrumented for
# coverage (-fsanitize=fuzzer-no-link) with AddressSanitizer and UndefinedBehaviorSanitizer.
#   ./build-fuzz/url_fuzz -max_total_time=60 -max_len=1024
# The targets link only the parsers under test (and the embedded Lua sources for lua/sqlite_ddl.lua), not all of
# luamig_core, so that a fuzz build is a few files, not the whole program.
add_library(luamig_fuzz_parsers STATIC
  ${CMAKE_SOURCE_DIR}/src/config/url.cpp
  ${CMAKE_SOURCE_DIR}/src/db/statement_shape.cpp
  ${CMAKE_SOURCE_DIR}/src/dialect/dialect.cpp
  ${CMAKE_SOURCE_DIR}/src/dialect/inline_params.cpp
  ${CMAKE_SOURCE_DIR}/src/dialect/postgresql.cpp
  ${CMAKE_SOURCE_DIR}/src/dialect/sqlite.cpp
  ${CMAKE_SOURCE_DIR}/src/graph/revision.cpp
  ${CMAKE_SOURCE_DIR}/src/graph/revision_map.cpp
  ${CMAKE_SOURCE_DIR}/src/graph/target.cpp
  ${CMAKE_SOURCE_DIR}/src/importer/py_tokenizer.cpp
  ${CMAKE_SOURCE_DIR}/src/scripts/header_scan.cpp
  ${CMAKE_SOURCE_DIR}/src/util/duration.cpp
  ${CMAKE_SOURCE_DIR}/src/util/output.cpp
  ${EMBED_CPP})
target_include_directories(luamig_fuzz_parsers PUBLIC ${CMAKE_SOURCE_DIR}/src ${CMAKE_SOURCE_DIR}/tests)
target_compile_definitions(luamig_fuzz_parsers PUBLIC PQXX_HAVE_OPTIONAL=1 LUAMIG_VERSION="${PROJECT_VERSION}")
target_link_libraries(luamig_fuzz_parsers PUBLIC fmt::fmt PkgConfig::LUAJIT)

set(LUAMIG_FUZZ_TARGET_NAMES "")
file(GLOB LUAMIG_FUZZ_TARGETS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/fuzz/*_fuzz.cpp)
foreach(src ${LUAMIG_FUZZ_TARGETS})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src} ${CMAKE_SOURCE_DIR}/tests/fuzz/properties.cpp)
  target_link_libraries(${name} PRIVATE luamig_fuzz_parsers)
  target_link_options(${name} PRIVATE -fsanitize=fuzzer)
  list(APPEND LUAMIG_FUZZ_TARGET_NAMES ${name})
endforeach()
add_custom_target(fuzz_targets DEPENDS ${LUAMIG_FUZZ_TARGET_NAMES})
