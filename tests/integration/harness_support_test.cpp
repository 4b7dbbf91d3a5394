// Self-tests of the shared PostgreSQL helpers of tests/support/ that harness_test.cpp does not cover: the
// normalised pg_dump, the client programs beside the server, a port nothing listens on, and one test body run
// per dialect.
#include <catch2/catch.hpp>
#include <filesystem>
#include <set>
#include <sstream>
#include <string>

#include "support/cli.hpp"
#include "support/fixture.hpp"
#include "support/pg_server.hpp"
#include "support/run.hpp"
#include "support/test_db.hpp"

using namespace luamig::test;
using Catch::Matchers::Contains;

TEST_CASE("harness: pg_dump is normalised and psql is found beside the server", "[harness]") {
  TempDb db;
  db.exec("CREATE TABLE t (id int PRIMARY KEY, note text); COMMENT ON TABLE t IS 'kept'");
  const std::string dump = pg_dump(db, {"-s", "--no-owner"});
  CHECK_THAT(dump, Contains("CREATE TABLE public.t (") && Contains("COMMENT ON TABLE public.t IS 'kept';"));
  std::istringstream in(dump);
  for (std::string line; std::getline(in, line);) {
    INFO(line);
    CHECK_FALSE(line.empty());
    CHECK(line.rfind("--", 0) != 0);
    CHECK(line.rfind("\\restrict", 0) != 0);
    CHECK(line.rfind("\\unrestrict", 0) != 0);
  }
  CHECK(pg_dump(db, {"-s", "--no-owner"}) == dump);  // nothing that varies between two dumps is left
  CHECK_THROWS_WITH(pg_dump(db, {"--no-such-option"}), Contains("pg_dump failed"));

  auto psql = run({pg_tool("psql"), "-X", "-A", "-t", "-d", db.url(), "-c", "SELECT count(*) FROM t"});
  INFO(psql.describe());
  CHECK(psql.status == 0);
  CHECK(psql.out == "0\n");
}

TEST_CASE("harness: unused_tcp_port gives a port nothing answers on", "[harness]") {
  int port = unused_tcp_port();
  CHECK(port > 0);
  CHECK(port < 65536);
  TempProject proj;
  proj.write_config();
  write_three_tables(proj);
  auto r = luamig_in(proj, "postgresql://postgres@127.0.0.1:" + std::to_string(port) + "/x?connect_timeout=3",
                     {"current"});
  INFO(r.describe());
  CHECK(r.status != 0);
  CHECK_THAT(r.err, Contains("Connection refused"));
}

TEST_CASE("harness: EACH_DIALECT runs the body once per dialect", "[harness]") {
  static std::set<std::string> seen;
  DUAL_FIXTURE(f);
  seen.insert(f.db.dialect());
  CHECK(f.proj.read("luamig.lua") == "script_location = \"migrations\"\nurl = \"" + f.db.url() + "\"\n");
  f.migration("a1", std::nullopt, "  op.execute('CREATE TABLE t (id int)')", "", "transactional = false");
  LM_OK(f, {"upgrade", "head"});
  CHECK(f.db.version_rows() == std::vector<std::string>{"a1"});
  CHECK(f.column("SELECT count(*) FROM t") == std::vector<std::string>{"0"});
  if (f.db.is_sqlite()) CHECK(seen == std::set<std::string>{"postgresql", "sqlite"});
}
