# libFuzzer targets (-DLUAMIG_FUZZ=ON, with clang; see the "fuzz" preset): one executable per
# tests/fuzz/<name>_fuzz.cpp, checking the properties in tests/fuzz/properties.cpp. The whole build is
# instrumented for coverage (-fsanitize=fuzzer-no-link) with AddressSanitizer and UndefinedBehaviorSanitizer.
#   ./build-fuzz/url_fuzz -max_total_time=60 -max_len=512
file(GLOB LUAMIG_FUZZ_TARGETS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/fuzz/*_fuzz.cpp)
foreach(src ${LUAMIG_FUZZ_TARGETS})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src} ${CMAKE_SOURCE_DIR}/tests/fuzz/properties.cpp)
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/tests)
  target_link_libraries(${name} PRIVATE luamig_core)
  target_link_options(${name} PRIVATE -fsanitize=fuzzer)
endforeach()
