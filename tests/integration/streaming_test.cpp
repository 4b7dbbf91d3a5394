// op.query streams through a cursor: the luamig process's peak memory does not grow with the result's size.
#include <unistd.h>

#include "support/fixture.hpp"

using namespace luamig::test;

namespace {
// Peak RSS (KiB) of `luamig upgrade head` over a migration that reads `rows` rows of ~100 bytes.
long peak_for(int rows) {
  Fixture f;
  f.migration("a1", std::nullopt,
              R"lua(
  local n, bytes = 0, 0
  for row in op.query("SELECT g, md5(g::text) || md5((g + 1)::text) || md5((g + 2)::text) AS pad FROM generate_series(1, $1) g", )lua" +
                  std::to_string(rows) + R"lua() do
    n = n + 1
    bytes = bytes + #row.pad
  end
  assert(n == )lua" +
                  std::to_string(rows) + R"lua(, n)
  log.info("read", n, "rows", bytes, "bytes")
)lua",
              "");
  RunOptions opts;
  opts.cwd = f.proj.path();
  opts.timeout_ms = 600000;
  auto r = run({"/usr/bin/time", "-v", luamig_bin(), "upgrade", "head"}, opts);
  INFO(r.describe());
  REQUIRE(r.status == 0);
  auto kib = peak_rss_kib(r);
  REQUIRE(kib);
  return *kib;
}
}  // namespace

TEST_CASE("streaming: peak memory stays flat from 100,000 to 3,000,000 rows", "[ops][memory]") {
  if (::access("/usr/bin/time", X_OK) != 0) {
    WARN("/usr/bin/time is missing: memory not measured");
    return;
  }
  long small = peak_for(100000);
  long large = peak_for(3000000);  // ~300 MB of row data through the process
  INFO("peak RSS: " << small / 1024 << " MiB at 100k rows, " << large / 1024 << " MiB at 3M rows");
  CHECK(large < 64 * 1024);
  CHECK(large - small < 8 * 1024);
}
