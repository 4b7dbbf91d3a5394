// Database URLs and password masking (src/config/url).
#include "config/url.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "util/error.hpp"

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
  // An '@' later in the path or query may be the end of a password with unencoded '/' or '?': masked up to
  // it.
  CHECK(mask_passwords("postgresql://u:pw@h/db?application_name=a@b") == "postgresql://u:***@b");
  CHECK(mask_passwords("host=h password=secret1 dbname=d") == "host=h password=*** dbname=d");
  CHECK(mask_passwords("PASSWORD = 'two words' user=u") == "PASSWORD = *** user=u");
  CHECK(mask_passwords("postgresql:///db?user=u&password=qp2&sslmode=require") ==
        "postgresql:///db?user=u&password=***&sslmode=require");
  CHECK(mask_passwords("") == "");
  CHECK(mask_passwords("nothing secret here") == "nothing secret here");
}

TEST_CASE("parse_url: SQLAlchemy dialect+driver schemes", "[unit][url]") {
  for (const char* scheme : {"postgresql+psycopg2", "postgresql+psycopg", "postgresql+asyncpg",
                             "postgresql+pg8000", "postgres", "postgresql", "POSTGRESQL+ASYNCPG"}) {
    INFO(scheme);
    auto u = parse_url(std::string(scheme) + "://app:pw1x@db:6432/appdb?sslmode=disable");
    CHECK(u.dialect == "postgresql");
    CHECK(u.user == "app");
    CHECK(u.password == "pw1x");
    CHECK(u.host == "db");
    CHECK(u.port == "6432");
    CHECK(u.database == "appdb");
    CHECK(u.conninfo() ==
          "host='db' port='6432' user='app' password='pw1x' dbname='appdb' sslmode='disable'");
    CHECK(u.masked() == std::string(scheme) + "://app:***@db:6432/appdb?sslmode=disable");
  }
  CHECK(parse_url("sqlite+pysqlite:///app.db").path == "app.db");
  CHECK(parse_url("sqlite+pysqlite:////abs/app.db").path == "/abs/app.db");
  CHECK(parse_url("sqlite://").path == ":memory:");
  CHECK(parse_url("sqlite+pysqlite:///app.db").dialect == "sqlite");
}

TEST_CASE("parse_url: passwords with unencoded / ? # @ : are read whole and masked whole", "[unit][url]") {
  struct Case {
    const char* url;
    const char* password;
    const char* masked;
  };
  for (const auto& c : std::vector<Case>{
           {"postgresql://u:pa/ss@h:5432/db", "pa/ss", "postgresql://u:***@h:5432/db"},
           {"postgresql://u:pa?ss@h/db", "pa?ss", "postgresql://u:***@h/db"},
           {"postgresql://u:pa#ss@h/db", "pa#ss", "postgresql://u:***@h/db"},
           {"postgresql://u:p@ss@h/db", "p@ss", "postgresql://u:***@h/db"},
           {"postgresql://u:p:a:ss@h/db", "p:a:ss", "postgresql://u:***@h/db"},
           {"postgresql+asyncpg://u:a/b?c#d@e:f@h/db?sslmode=prefer", "a/b?c#d@e:f",
            "postgresql+asyncpg://u:***@h/db?sslmode=prefer"},
           {"postgresql://u:%2F%40x@h/db", "/@x", "postgresql://u:***@h/db"},
           {"postgresql://u@h/db?password=q%26p", "q&p", "postgresql://u@h/db?password=***"},
       }) {
    INFO(c.url);
    auto u = parse_url(c.url);
    CHECK(u.password == c.password);
    CHECK(u.host == "h");
    CHECK(u.user == "u");
    CHECK(u.database == "db");
    CHECK(u.masked() == c.masked);
    CHECK_THAT(mask_passwords(std::string("failed: ") + c.url + " (x)"), !Contains(c.password));
  }
}

TEST_CASE("parse_url: what libpq is given", "[unit][url]") {
  // Missing parts are left out, so libpq fills them from PGHOST, PGUSER... and ~/.pgpass.
  CHECK(parse_url("postgresql:///app").conninfo() == "dbname='app'");
  CHECK(parse_url("postgresql://").conninfo().empty());
  CHECK(parse_url("").conninfo().empty());
  CHECK(parse_url("postgresql://h1:5432,h2:5433/db?target_session_attrs=read-write").conninfo() ==
        "host='h1,h2' port='5432,5433' dbname='db' target_session_attrs='read-write'");
  CHECK(parse_url("postgresql://[::1]:5433/db").conninfo() == "host='::1' port='5433' dbname='db'");
  CHECK(parse_url("postgresql://h/db?ssl=true").conninfo() == "host='h' dbname='db' sslmode='require'");
  CHECK(parse_url("postgresql:///db?service=prod").conninfo() == "dbname='db' service='prod'");
  CHECK(parse_url("postgresql://u:it's\\@h/db").conninfo() ==
        "host='h' user='u' password='it\\'s\\\\' dbname='db'");
  // Extra keywords only where the URL does not set them.
  CHECK(parse_url("postgresql://h/db?keepalives_idle=5")
            .conninfo({{"keepalives_idle", "30"}, {"keepalives", "1"}}) ==
        "host='h' dbname='db' keepalives_idle='5' keepalives='1'");
  // key=value strings go to libpq as written.
  CHECK(parse_url("host=h password='a b' dbname=d").conninfo({{"keepalives", "1"}}) ==
        "host=h password='a b' dbname=d keepalives='1'");
}

TEST_CASE("parse_url: libpq key=value quoting, masked structurally", "[unit][url]") {
  auto q = parse_url("host=h password='it\\'s a secret' user=u");
  CHECK(q.password == "it's a secret");
  CHECK(q.user == "u");
  CHECK(q.masked() == "host=h password=*** user=u");
  auto e = parse_url("password=pa\\ ss dbname=postgres");
  CHECK(e.password == "pa ss");
  CHECK(e.database == "postgres");
  CHECK(e.masked() == "password=*** dbname=postgres");
  auto sp = parse_url("  user = postgres   password = postgres  ");
  CHECK(sp.password == "postgres");
  CHECK(sp.user == "postgres");
  CHECK(sp.masked() == "  user = postgres   password = ***  ");
  CHECK_THROWS_AS(parse_url("host=h password"), luamig::ConfigError);
  CHECK_THROWS_AS(parse_url("host=h password='open"), luamig::ConfigError);
}

TEST_CASE("masking is structural: the password's text elsewhere is left alone", "[unit][url]") {
  auto u = parse_url("postgresql://postgres:postgres@h/postgres");
  CHECK(u.masked() == "postgresql://postgres:***@h/postgres");
  CHECK(mask_passwords("GRANT SELECT ON t TO postgres") == "GRANT SELECT ON t TO postgres");
  CHECK(mask_passwords("role \"postgres\" does not exist") == "role \"postgres\" does not exist");
}
