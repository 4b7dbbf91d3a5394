// The lint rules over in-memory plans (no server, no Lua): each rule with a positive and a negative case,
// through op records and through raw SQL in an execute record.
#include <catch2/catch.hpp>

#include "lint/lint.hpp"
#include "lint/report.hpp"
#include "lint/sql_parse.hpp"
#include "lint/types.hpp"
#include "util/json.hpp"

using namespace luamig;
using luahost::OpField;
using luahost::OpRecord;

namespace {
OpField s(const std::string& v) { return {OpField::Type::string, v}; }
OpField b(bool v) { return {OpField::Type::boolean, v ? "true" : "false"}; }
OpField j(const std::string& v) { return {OpField::Type::json, v}; }

OpRecord op(const std::string& kind, std::map<std::string, OpField> fields, int line = 5) {
  OpRecord r;
  r.kind = kind;
  r.fields = std::move(fields);
  r.file = "v/r1.lua";
  r.line = line;
  return r;
}
OpRecord sql(const std::string& text, int line = 5) {
  OpRecord r = op("execute", {{"params", {OpField::Type::number, "0"}}}, line);
  r.sql = {text};
  return r;
}

// r0 creates users(id integer, email varchar(50), age integer) and orders; r1 holds `records`.
std::vector<lint::Finding> run(std::vector<OpRecord> records, lint::Options options = {},
                               lint::Context ctx = {}, bool transactional = true,
                               const std::string& source = "") {
  lint::RevisionInput r0;
  r0.id = "r0";
  r0.path = "v/r0.lua";
  r0.records = {op("create_table",
                   {{"table", s("users")},
                    {"columns", j(R"J([{"name":"id","type":"integer","primary_key":true},)J"
                                  R"J(["email","varchar(50)"],["age","integer"],["price","numeric(10,2)"],)J"
                                  R"J(["at","timestamp"],["net","cidr"],["name","text"]])J")}}),
                op("create_table", {{"table", s("orders")}, {"columns", j(R"J([["user_id","integer"]])J")}})};
  lint::RevisionInput r1;
  r1.id = "r1";
  r1.path = "v/r1.lua";
  r1.records = std::move(records);
  r1.transactional = transactional;
  ctx.lock_timeout_configured = true;
  return lint::lint({r0, r1}, ctx, options,
                    [&](const std::string& path) { return path == "v/r1.lua" ? source : ""; });
}

bool has(const std::vector<lint::Finding>& fs, const std::string& rule) {
  for (const auto& f : fs)
    if (f.rule == rule && f.silenced.empty()) return true;
  return false;
}
const lint::Finding* get(const std::vector<lint::Finding>& fs, const std::string& rule) {
  for (const auto& f : fs)
    if (f.rule == rule) return &f;
  return nullptr;
}
}  // namespace

TEST_CASE("lint: require-concurrent-index-creation via op and SQL", "[unit][lint]") {
  auto f = run(
      {op("create_index", {{"name", s("ix_e")}, {"table", s("users")}, {"columns", j(R"J(["email"])J")}})});
  REQUIRE(has(f, "require-concurrent-index-creation"));
  CHECK_THAT(get(f, "require-concurrent-index-creation")->alternative,
             Catch::Contains("op.autocommit_block(function()") && Catch::Contains("concurrently = true") &&
                 Catch::Contains("\"users\""));
  CHECK(get(f, "require-concurrent-index-creation")->line == 5);
  CHECK(has(run({sql("CREATE INDEX ix_e ON users (email)")}), "require-concurrent-index-creation"));
  // Negative: a table created in this very revision, and CONCURRENTLY inside an autocommit block.
  CHECK_FALSE(has(run({op("create_table", {{"table", s("t")}, {"columns", j(R"J([["a","int"]])J")}}),
                       sql("CREATE INDEX ix_a ON t (a)")}),
                  "require-concurrent-index-creation"));
  auto ok = run({op("autocommit_block", {{"records", {OpField::Type::number, "1"}}}),
                 sql("CREATE INDEX CONCURRENTLY ix_e ON users (email)")});
  CHECK_FALSE(has(ok, "require-concurrent-index-creation"));
  CHECK_FALSE(has(ok, "ban-concurrent-index-creation-in-transaction"));
}

TEST_CASE("lint: ban-concurrent-index-creation-in-transaction", "[unit][lint]") {
  CHECK(has(run({op("create_index", {{"name", s("ix")}, {"table", s("users")}, {"concurrently", b(true)}})}),
            "ban-concurrent-index-creation-in-transaction"));
  CHECK(has(run({sql("DROP INDEX CONCURRENTLY ix")}), "ban-concurrent-index-creation-in-transaction"));
  CHECK_FALSE(has(run({sql("CREATE INDEX CONCURRENTLY ix ON users (email)")}, {}, {}, false),
                  "ban-concurrent-index-creation-in-transaction"));
}

TEST_CASE("lint: adding-required-field", "[unit][lint]") {
  auto f = run({op("add_column", {{"table", s("users")},
                                  {"column", j(R"J({"name":"n","type":"integer","nullable":false})J")}})});
  REQUIRE(has(f, "adding-required-field"));
  CHECK_THAT(get(f, "adding-required-field")->alternative,
             Catch::Contains("op.add_column(\"users\", { \"n\""));
  CHECK(has(run({sql("ALTER TABLE users ADD COLUMN n integer NOT NULL")}), "adding-required-field"));
  CHECK_FALSE(
      has(run({sql("ALTER TABLE users ADD COLUMN n integer NOT NULL DEFAULT 0")}), "adding-required-field"));
  CHECK_FALSE(
      has(run({op("add_column",
                  {{"table", s("users")},
                   {"column", j(R"J({"name":"n","type":"integer","nullable":false,"default":0})J")}})}),
          "adding-required-field"));
}

TEST_CASE("lint: adding-volatile-default", "[unit][lint]") {
  CHECK(has(run({sql("ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid()")}),
            "adding-volatile-default"));
  CHECK(has(run({op("add_column",
                    {{"table", s("users")},
                     {"column", j(R"J({"name":"t","type":"float8","default":{"sql":"random()"}})J")}})}),
            "adding-volatile-default"));
  CHECK(has(run({sql("ALTER TABLE users ADD COLUMN n bigserial")}), "adding-volatile-default"));
  // now() is stable: evaluated once, no rewrite since PostgreSQL 11.
  CHECK_FALSE(has(run({sql("ALTER TABLE users ADD COLUMN at2 timestamptz DEFAULT now()")}),
                  "adding-volatile-default"));
  lint::Context old;
  old.server_version = 100000;
  CHECK(has(run({sql("ALTER TABLE users ADD COLUMN n integer DEFAULT 0")}, {}, old),
            "adding-volatile-default"));
}

TEST_CASE("lint: changing-column-type knows the safe cases", "[unit][lint]") {
  using lint::TypeChange;
  CHECK(lint::classify_type_change("varchar(50)", "varchar(100)", false) == TypeChange::safe);
  CHECK(lint::classify_type_change("character varying(50)", "text", false) == TypeChange::safe);
  CHECK(lint::classify_type_change("varchar(50)", "varchar", false) == TypeChange::safe);
  CHECK(lint::classify_type_change("text", "varchar", false) == TypeChange::safe);
  CHECK(lint::classify_type_change("numeric(10,2)", "numeric(12,2)", false) == TypeChange::safe);
  CHECK(lint::classify_type_change("cidr", "inet", false) == TypeChange::safe);
  CHECK(lint::classify_type_change("timestamp", "timestamptz", false) == TypeChange::safe_if_utc);
  CHECK(lint::classify_type_change("varchar(50)", "varchar(20)", false) == TypeChange::rewrite);
  CHECK(lint::classify_type_change("numeric(10,2)", "numeric(12,3)", false) == TypeChange::rewrite);
  CHECK(lint::classify_type_change("integer", "bigint", false) == TypeChange::rewrite);
  CHECK(lint::classify_type_change("text", "varchar(20)", false) == TypeChange::rewrite);
  // Through the plan: the old type comes from the revision that created the column.
  auto f = run({op("alter_column", {{"table", s("users")}, {"column", s("age")}, {"type", s("bigint")}})});
  REQUIRE(has(f, "changing-column-type"));
  CHECK_THAT(get(f, "changing-column-type")->alternative,
             Catch::Contains("op.add_column(\"users\", { \"age_new\""));
  CHECK(has(run({sql("ALTER TABLE users ALTER COLUMN age TYPE bigint")}), "changing-column-type"));
  CHECK_FALSE(
      has(run({sql("ALTER TABLE users ALTER COLUMN email TYPE varchar(100)")}), "changing-column-type"));
  CHECK_FALSE(has(run({op("alter_column",
                          {{"table", s("users")}, {"column", s("price")}, {"type", s("numeric(14,2)")}})}),
                  "changing-column-type"));
  CHECK(has(run({sql("ALTER TABLE users ALTER COLUMN at TYPE timestamptz")}), "changing-column-type"));
  CHECK_FALSE(
      has(run({sql("SET LOCAL TimeZone = 'UTC'; ALTER TABLE users ALTER COLUMN at TYPE timestamptz")}),
          "changing-column-type"));
}

TEST_CASE("lint: setting-not-nullable-field", "[unit][lint]") {
  CHECK(
      has(run({op("alter_column", {{"table", s("users")}, {"column", s("email")}, {"nullable", b(false)}})}),
          "setting-not-nullable-field"));
  CHECK(has(run({sql("ALTER TABLE users ALTER COLUMN email SET NOT NULL")}), "setting-not-nullable-field"));
  // Negative: a CHECK (email IS NOT NULL) validated in an earlier revision.
  lint::RevisionInput r0, r1, r2;
  r0.id = "r0";
  r0.records = {op("create_table", {{"table", s("users")}, {"columns", j(R"J([["email","text"]])J")}})};
  r1.id = "r1";
  r1.records = {sql("ALTER TABLE users ADD CONSTRAINT ck CHECK (email IS NOT NULL) NOT VALID"),
                sql("ALTER TABLE users VALIDATE CONSTRAINT ck")};
  r2.id = "r2";
  r2.records = {sql("ALTER TABLE users ALTER COLUMN email SET NOT NULL")};
  lint::Context ctx;
  ctx.lock_timeout_configured = true;
  CHECK_FALSE(has(lint::lint({r0, r1, r2}, ctx, {}), "setting-not-nullable-field"));
}

TEST_CASE("lint: adding-foreign-key-constraint and constraint-missing-not-valid", "[unit][lint]") {
  CHECK(has(run({op("create_foreign_key", {{"name", s("fk")},
                                           {"table", s("orders")},
                                           {"referent", s("users")},
                                           {"columns", j(R"J(["user_id"])J")}})}),
            "adding-foreign-key-constraint"));
  CHECK(has(run({sql("ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id)")}),
            "adding-foreign-key-constraint"));
  CHECK_FALSE(
      has(run({sql(
              "ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID")}),
          "adding-foreign-key-constraint"));
  CHECK(has(run({op("create_check_constraint",
                    {{"name", s("ck")}, {"table", s("users")}, {"condition", s("age > 0")}})}),
            "constraint-missing-not-valid"));
  CHECK(
      has(run({sql("ALTER TABLE users ADD CONSTRAINT ck CHECK (age > 0)")}), "constraint-missing-not-valid"));
  CHECK_FALSE(has(run({sql("ALTER TABLE users ADD CONSTRAINT ck CHECK (age > 0) NOT VALID")}),
                  "constraint-missing-not-valid"));
}

TEST_CASE("lint: disallowed-unique-constraint", "[unit][lint]") {
  CHECK(has(run({op("create_unique_constraint",
                    {{"name", s("uq")}, {"table", s("users")}, {"columns", j(R"J(["email"])J")}})}),
            "disallowed-unique-constraint"));
  CHECK(
      has(run({sql("ALTER TABLE users ADD CONSTRAINT uq UNIQUE (email)")}), "disallowed-unique-constraint"));
  CHECK_FALSE(has(run({sql("ALTER TABLE users ADD CONSTRAINT uq UNIQUE USING INDEX uq")}),
                  "disallowed-unique-constraint"));
}

TEST_CASE("lint: renaming and dropping columns and tables", "[unit][lint]") {
  CHECK(has(
      run({op("rename_column", {{"table", s("users")}, {"column", s("email")}, {"new_name", s("mail")}})}),
      "renaming-column"));
  CHECK(has(run({sql("ALTER TABLE users RENAME COLUMN email TO mail")}), "renaming-column"));
  CHECK(
      has(run({op("alter_column", {{"table", s("users")}, {"column", s("email")}, {"new_name", s("mail")}})}),
          "renaming-column"));
  CHECK(
      has(run({op("rename_table", {{"table", s("users")}, {"new_name", s("accounts")}})}), "renaming-table"));
  CHECK(has(run({sql("ALTER TABLE users RENAME TO accounts")}), "renaming-table"));
  CHECK(has(run({op("drop_column", {{"table", s("users")}, {"column", s("age")}})}), "ban-drop-column"));
  CHECK(has(run({sql("ALTER TABLE users DROP COLUMN age")}), "ban-drop-column"));
  CHECK(has(run({op("drop_table", {{"table", s("users")}})}), "ban-drop-table"));
  CHECK(has(run({sql("DROP TABLE users")}), "ban-drop-table"));
  // Negative: objects created in the same revision.
  CHECK_FALSE(
      has(run({sql("CREATE TABLE tmp (a int); ALTER TABLE tmp RENAME COLUMN a TO b; DROP TABLE tmp")}),
          "renaming-column"));
  CHECK_FALSE(has(run({sql("CREATE TABLE tmp (a int); DROP TABLE tmp")}), "ban-drop-table"));
}

TEST_CASE("lint: mixed-autocommit-ddl and ddl-with-backfill", "[unit][lint]") {
  CHECK(has(run({op("add_column", {{"table", s("users")}, {"column", j(R"J(["x","text"])J")}}),
                 op("autocommit_block", {{"records", {OpField::Type::number, "1"}}}),
                 sql("CREATE INDEX CONCURRENTLY ix ON users (x)")}),
            "mixed-autocommit-ddl"));
  CHECK(
      has(run({sql("ALTER TABLE users ADD COLUMN x text"), sql("CREATE INDEX CONCURRENTLY ix ON users (x)")},
              {}, {}, false),
          "mixed-autocommit-ddl"));
  CHECK_FALSE(has(run({op("autocommit_block", {{"records", {OpField::Type::number, "1"}}}),
                       sql("CREATE INDEX CONCURRENTLY ix ON users (x)")}),
                  "mixed-autocommit-ddl"));
  CHECK(has(run({op("add_column", {{"table", s("users")}, {"column", j(R"J(["d","text"])J")}}),
                 sql("UPDATE users SET d = 'x'")}),
            "ddl-with-backfill"));
  CHECK(
      has(run({sql("ALTER TABLE users ADD COLUMN d text; UPDATE users SET d = 'x'")}), "ddl-with-backfill"));
  CHECK_FALSE(has(run({sql("UPDATE users SET age = 1")}), "ddl-with-backfill"));
}

TEST_CASE("lint: require-lock-timeout", "[unit][lint]") {
  lint::RevisionInput r0, r1;
  r0.id = "r0";
  r0.records = {op("create_table", {{"table", s("users")}, {"columns", j(R"J([["a","int"]])J")}})};
  r1.id = "r1";
  r1.records = {sql("ALTER TABLE users ADD COLUMN b int")};
  CHECK(has(lint::lint({r0, r1}, {}, {}), "require-lock-timeout"));
  r1.records = {op("add_column", {{"table", s("users")}, {"column", j(R"J(["b","int"])J")}})};
  CHECK(has(lint::lint({r0, r1}, {}, {}), "require-lock-timeout"));
  r1.records = {sql("SET LOCAL lock_timeout = '5s'"), sql("ALTER TABLE users ADD COLUMN b int")};
  CHECK_FALSE(has(lint::lint({r0, r1}, {}, {}), "require-lock-timeout"));
  lint::Context configured;
  configured.lock_timeout_configured = true;
  r1.records = {op("add_column", {{"table", s("users")}, {"column", j(R"J(["b","int"])J")}})};
  CHECK_FALSE(has(lint::lint({r0, r1}, configured, {}), "require-lock-timeout"));
}

TEST_CASE("lint: graph rules: revision id, heads, downgrade", "[unit][lint]") {
  lint::RevisionInput r;
  r.id = std::string(33, 'a');
  r.records = {sql("CREATE TABLE t (a int)")};
  r.downgrade_empty = true;
  lint::Context ctx;
  ctx.heads = {"x", "y"};
  auto f = lint::lint({r}, ctx, {});
  CHECK(has(f, "revision-id-too-long"));
  CHECK(has(f, "multiple-heads"));
  CHECK(has(f, "missing-downgrade"));
  r.id = "short";
  r.downgrade_empty = false;
  ctx.heads = {"x"};
  f = lint::lint({r}, ctx, {});
  CHECK_FALSE(has(f, "revision-id-too-long"));
  CHECK_FALSE(has(f, "multiple-heads"));
  CHECK_FALSE(has(f, "missing-downgrade"));
  r.has_downgrade = false;
  CHECK(has(lint::lint({r}, ctx, {}), "missing-downgrade"));
  r.records = {sql("UPDATE t SET a = 1")};  // no DDL: no downgrade needed
  CHECK_FALSE(has(lint::lint({r}, ctx, {}), "missing-downgrade"));
}

TEST_CASE("lint: sql-syntax-error names the line inside the string", "[unit][lint]") {
  auto f = run({sql("CREATE TABLE ok (a int);\nALTER TABLE users ADD COLUMN", 7)});
  REQUIRE(has(f, "sql-syntax-error"));
  CHECK(get(f, "sql-syntax-error")->line == 8);
  CHECK_FALSE(has(run({sql("SELECT $1::int")}), "sql-syntax-error"));
}

TEST_CASE("lint: statements of a multi-statement string keep their own lines", "[unit][lint]") {
  auto f = run({sql("SELECT 1;\n\n  CREATE INDEX ix ON users (email);", 10)});
  REQUIRE(get(f, "require-concurrent-index-creation"));
  CHECK(get(f, "require-concurrent-index-creation")->line == 12);
  CHECK(get(f, "require-concurrent-index-creation")->statement == "CREATE INDEX ix ON users (email)");
  CHECK(get(f, "require-concurrent-index-creation")->from_sql);
}

TEST_CASE("lint: silencing by comment and by config", "[unit][lint]") {
  std::string source =
      "\n\n\n-- luamig: allow require-concurrent-index-creation tiny table\n"
      "op.create_index('ix', 'users', {'email'})\n";
  auto f = run({op("create_index", {{"name", s("ix")}, {"table", s("users")}})}, {}, {}, true, source);
  REQUIRE(get(f, "require-concurrent-index-creation"));
  CHECK(get(f, "require-concurrent-index-creation")->silenced == "comment: tiny table");
  // The same comment naming another rule does not silence it.
  std::string other = "\n\n\n-- luamig: allow ban-drop-table\nop.create_index(...)\n";
  CHECK(has(run({op("create_index", {{"name", s("ix")}, {"table", s("users")}})}, {}, {}, true, other),
            "require-concurrent-index-creation"));
  lint::Options o;
  o.disable = {"require-concurrent-index-creation"};
  f = run({op("create_index", {{"name", s("ix")}, {"table", s("users")}})}, o);
  CHECK_FALSE(has(f, "require-concurrent-index-creation"));
  lint::Options sev;
  sev.severity["require-concurrent-index-creation"] = lint::Severity::warning;
  f = run({op("create_index", {{"name", s("ix")}, {"table", s("users")}})}, sev);
  CHECK(get(f, "require-concurrent-index-creation")->severity == lint::Severity::warning);
}

TEST_CASE("lint: large tables raise warnings to errors", "[unit][lint]") {
  lint::Context big;
  big.table_rows["users"] = 5e6;
  auto f = run({sql("ALTER TABLE users DROP COLUMN age")}, {}, big);
  REQUIRE(get(f, "ban-drop-column"));
  CHECK(get(f, "ban-drop-column")->severity == lint::Severity::error);
  CHECK_THAT(get(f, "ban-drop-column")->message, Catch::Contains("5000000 rows"));
  f = run({sql("ALTER TABLE users DROP COLUMN age")});
  CHECK(get(f, "ban-drop-column")->severity == lint::Severity::warning);
}

TEST_CASE("lint: JSON output parses back", "[unit][lint]") {
  auto f = run({sql("CREATE INDEX ix ON users (email)")});
  auto doc = json::parse(lint::format_json(f, 2));
  REQUIRE(doc["findings"].is_array());
  CHECK(doc["findings"].items[0]["rule"].str() == "require-concurrent-index-creation");
  CHECK(doc["findings"].items[0]["source"].str() == "sql");
  CHECK(doc["summary"]["errors"].number == 1);
  CHECK_THAT(lint::format_rules(), Catch::Contains("setting-not-nullable-field"));
}

// squawk's documented examples (https://squawkhq.com/docs/rules), written as revisions over an existing
// table.
TEST_CASE("lint: agrees with squawk's documented examples", "[unit][lint]") {
  CHECK(has(run({sql("ALTER TABLE users ADD COLUMN foo integer NOT NULL")}), "adding-required-field"));
  CHECK(
      has(run({sql("ALTER TABLE orders ADD CONSTRAINT fk_user FOREIGN KEY (user_id) REFERENCES users (id)")}),
          "adding-foreign-key-constraint"));
  CHECK(has(run({sql("ALTER TABLE users ALTER COLUMN email SET NOT NULL")}), "setting-not-nullable-field"));
  CHECK(has(run({sql("CREATE INDEX email_idx ON users (email)")}), "require-concurrent-index-creation"));
  CHECK(has(run({sql("ALTER TABLE users ADD CONSTRAINT email_uniq UNIQUE (email)")}),
            "disallowed-unique-constraint"));
  CHECK(has(run({sql("ALTER TABLE users ADD CONSTRAINT positive_age CHECK (age > 0)")}),
            "constraint-missing-not-valid"));
  CHECK(has(run({sql("ALTER TABLE users RENAME COLUMN email TO email_address")}), "renaming-column"));
  CHECK(has(run({sql("ALTER TABLE users RENAME TO customers")}), "renaming-table"));
  CHECK(has(run({sql("ALTER TABLE users DROP COLUMN age")}), "ban-drop-column"));
  CHECK(has(run({sql("DROP TABLE users")}), "ban-drop-table"));
  CHECK(has(run({sql("ALTER TABLE users ADD COLUMN uid uuid DEFAULT gen_random_uuid()")}),
            "adding-volatile-default"));
  // More precise than squawk's changing-column-type, which flags every type change: widening is safe.
  CHECK(has(run({sql("ALTER TABLE users ALTER COLUMN age TYPE bigint")}), "changing-column-type"));
  CHECK_FALSE(
      has(run({sql("ALTER TABLE users ALTER COLUMN email TYPE varchar(255)")}), "changing-column-type"));
}

// strong_migrations' documented examples (Rails), written as luamig op calls.
TEST_CASE("lint: agrees with strong_migrations' documented examples", "[unit][lint]") {
  // remove_column :users, :age
  CHECK(has(run({op("drop_column", {{"table", s("users")}, {"column", s("age")}})}), "ban-drop-column"));
  // add_column :users, :some_column, :uuid, default: -> { "gen_random_uuid()" }
  CHECK(
      has(run({op("add_column",
                  {{"table", s("users")},
                   {"column",
                    j(R"J({"name":"some_column","type":"uuid","default":{"sql":"gen_random_uuid()"}})J")}})}),
          "adding-volatile-default"));
  // change_column :users, :age, :bigint
  CHECK(has(run({op("alter_column", {{"table", s("users")}, {"column", s("age")}, {"type", s("bigint")}})}),
            "changing-column-type"));
  // rename_column :users, :email, :mail ; rename_table :users, :accounts
  CHECK(has(
      run({op("rename_column", {{"table", s("users")}, {"column", s("email")}, {"new_name", s("mail")}})}),
      "renaming-column"));
  CHECK(
      has(run({op("rename_table", {{"table", s("users")}, {"new_name", s("accounts")}})}), "renaming-table"));
  // add_index :users, :email
  CHECK(has(run({op("create_index", {{"name", s("index_users_on_email")},
                                     {"table", s("users")},
                                     {"columns", j(R"J(["email"])J")}})}),
            "require-concurrent-index-creation"));
  // add_foreign_key :orders, :users
  CHECK(has(run({op("create_foreign_key",
                    {{"name", s("fk_rails")}, {"table", s("orders")}, {"referent", s("users")}})}),
            "adding-foreign-key-constraint"));
  // add_check_constraint :users, "price > 0"
  CHECK(has(run({op("create_check_constraint",
                    {{"name", s("price_check")}, {"table", s("users")}, {"condition", s("price > 0")}})}),
            "constraint-missing-not-valid"));
  // change_column_null :users, :email, false
  CHECK(
      has(run({op("alter_column", {{"table", s("users")}, {"column", s("email")}, {"nullable", b(false)}})}),
          "setting-not-nullable-field"));
  // add_column ... null: false without a default (strong_migrations allows it on PostgreSQL 11+ only with a
  // default)
  CHECK(has(run({op("add_column", {{"table", s("users")},
                                   {"column", j(R"J({"name":"x","type":"text","nullable":false})J")}})}),
            "adding-required-field"));
  // The safe variants are accepted.
  CHECK_FALSE(has(
      run({op(
          "create_foreign_key",
          {{"name", s("fk")}, {"table", s("orders")}, {"referent", s("users")}, {"not_valid", b(true)}})}),
      "adding-foreign-key-constraint"));
  // change_column from varchar(50) to text: strong_migrations also treats it as safe.
  CHECK_FALSE(
      has(run({op("alter_column", {{"table", s("users")}, {"column", s("email")}, {"type", s("text")}})}),
          "changing-column-type"));
}
