// Database URLs and password masking (src/config/url).
#include "config/url.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "util/error.hpp"
#include "util/output.hpp"

using Catch::Matchers::Contains;
using luamig::config::mask_passwords;
using luamig::config::parse_url;

TEST_CASE("parse_url: postgresql URLs", "[unit][url]") {
  auto u = parse_url("postgresql://app@db/app");
  CHECK(u.dialect == "postgresql");
  CHECK(u.user == "app");
  CHECK(u.password.empty());
  CHECK(u.host == "db");
  CHECK(u.port.empty());
  CHECK(u.database == "app");
  CHECK(u.raw == "postgresql://app@db/app");
  CHECK(u.describe() == "host db, port 5432, database app, user app");

  auto full = parse_url("postgres://smart:p%40ss%2Fw0rd@10.0.0.5:6543/my%20db?sslmode=require");
  CHECK(full.dialect == "postgresql");
  CHECK(full.user == "smart");
  CHECK(full.password == "p@ss/w0rd");
  CHECK(full.host == "10.0.0.5");
  CHECK(full.port == "6543");
  CHECK(full.database == "my db");

  auto v6 = parse_url("postgresql://u:pw6@[::1]:5433/db");
  CHECK(v6.host == "::1");
  CHECK(v6.port == "5433");
  CHECK(v6.password == "pw6");

  auto query = parse_url("postgresql:///app?host=/var/run/postgresql&port=5499&user=me&password=qpw1");
  CHECK(query.host == "/var/run/postgresql");
  CHECK(query.port == "5499");
  CHECK(query.user == "me");
  CHECK(query.password == "qpw1");
  CHECK(query.database == "app");

  auto bare = parse_url("postgresql://");
  CHECK(bare.host.empty());
  CHECK(bare.describe() == "host (default), port 5432, database (default), user (default)");

  // An unencoded '@' in the password: the authority ends at the last '@'.
  auto at = parse_url("postgresql://u:p@ss@h/db");
  CHECK(at.password == "p@ss");
  CHECK(at.host == "h");
}

TEST_CASE("parse_url: libpq key=value strings and the empty URL", "[unit][url]") {
  auto kv = parse_url("host=db.internal port=5433 dbname=app user=svc password='two words'");
  CHECK(kv.dialect == "postgresql");
  CHECK(kv.host == "db.internal");
  CHECK(kv.port == "5433");
  CHECK(kv.database == "app");
  CHECK(kv.user == "svc");
  CHECK(kv.password == "two words");
  auto empty = parse_url("");
  CHECK(empty.dialect == "postgresql");  // libpq's environment variables decide
  CHECK(empty.host.empty());
}

TEST_CASE("parse_url: sqlite URLs", "[unit][url]") {
  CHECK(parse_url("sqlite:///app.db").path == "app.db");
  CHECK(parse_url("sqlite:///app.db").dialect == "sqlite");
  CHECK(parse_url("sqlite:////var/lib/app.db").path == "/var/lib/app.db");
  CHECK(parse_url("sqlite://:memory:").path == ":memory:");
  CHECK(parse_url("sqlite:///:memory:").path == ":memory:");
  CHECK(parse_url("sqlite:///app.db").describe() == "SQLite database app.db");
  CHECK_THROWS_AS(parse_url("sqlite://app.db"), luamig::ConfigError);
  CHECK_THROWS_AS(parse_url("sqlite:///"), luamig::ConfigError);
}

TEST_CASE("parse_url: unknown schemes are config errors without the password", "[unit][url]") {
  try {
    parse_url("mysql://root:Mysq1pw@localhost/db");
    FAIL("no error");
  } catch (const luamig::ConfigError& e) {
    std::string m = e.what();
    CHECK(e.failure.kind == luamig::FailureKind::Config);  // exit status 2 (main.cpp)
    CHECK_THAT(m, Contains("unknown scheme 'mysql'"));
    CHECK_THAT(m, !Contains("Mysq1pw"));
    CHECK_THAT(m, Contains("mysql://root:***@localhost/db"));
  }
}

TEST_CASE("mask_passwords hides passwords in URLs and conninfo strings", "[unit][url]") {
  CHECK(mask_passwords("postgresql://u:pw1@h/db") == "postgresql://u:***@h/db");
  CHECK(mask_passwords("postgresql://u@h/db") == "postgresql://u@h/db");
  CHECK(mask_passwords("postgresql://h:5432/db") == "postgresql://h:5432/db");
  CHECK(mask_passwords("postgresql://:onlypw@h/db") == "postgresql://:***@h/db");
  CHECK(mask_passwords("connecting to postgresql://u:x1@h/db failed") ==
        "connecting to postgresql://u:***@h/db failed");
  CHECK(mask_passwords("a postgres://u:p1@h/a and b postgres://v:p2@k/b") ==
        "a postgres://u:***@h/a and b postgres://v:***@k/b");
  // A password with an unencoded '@' is masked whole.
  CHECK(mask_passwords("postgresql://u:p@ss@h/db") == "postgresql://u:***@h/db");
  // An '@' later in the path or query does not widen the mask past the authority.
  CHECK(mask_passwords("postgresql://u:pw@h/db?application_name=a@b") ==
        "postgresql://u:***@h/db?application_name=a@b");
  CHECK(mask_passwords("host=h password=secret1 dbname=d") == "host=h password=*** dbname=d");
  CHECK(mask_passwords("PASSWORD = 'two words' user=u") == "PASSWORD = *** user=u");
  CHECK(mask_passwords("postgresql:///db?user=u&password=qp2&sslmode=require") ==
        "postgresql:///db?user=u&password=***&sslmode=require");
  CHECK(mask_passwords("") == "");
  CHECK(mask_passwords("nothing secret here") == "nothing secret here");
}

TEST_CASE("parse_url registers the password so later output is scrubbed", "[unit][url]") {
  auto u = parse_url("postgresql://u:Unit7Secret@h/db");
  CHECK(u.masked() == "postgresql://u:***@h/db");
  // Wherever it shows up later (a server message, a libpq error), it is replaced.
  CHECK(luamig::out::scrub("FATAL: password Unit7Secret rejected") == "FATAL: password *** rejected");
  CHECK(mask_passwords("echo Unit7Secret Unit7Secret") == "echo *** ***");
  // Decoded passwords are registered too.
  parse_url("postgresql://u:enc%2Bd3d@h/db");
  CHECK(luamig::out::scrub("was enc+d3d") == "was ***");
  parse_url("host=h password=kvSecret9");
  CHECK(luamig::out::scrub("kvSecret9") == "***");
}
