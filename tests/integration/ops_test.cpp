// The op API on a real PostgreSQL and a real SQLite file: every operation and its downgrade. Tests declared
// with DUAL_FIXTURE run once per dialect (one body); tests with Fixture check PostgreSQL-only features and
// pg_catalog details.
//
// Over 600 lines, on purpose: one case per operation and its downgrade, the vocabulary in one place.
#include "support/fixture.hpp"

using namespace luamig::test;
using Catch::Matchers::Contains;

TEST_CASE("ops: create_table with column attributes, table options and constraints, then drop_table",
          "[ops]") {
  Fixture f;
  f.migration("a1", std::nullopt, R"lua(
  op.create_table("owners", { "id", "bigint", primary_key = true })
  op.create_table("things",
    { "id", "uuid", primary_key = true, default = op.text("gen_random_uuid()") },
    { "n", "integer", identity = true },
    { "name", "varchar(50)", nullable = false, default = "it's", comment = "the name" },
    { "code", "text", unique = true },
    { "email", "text", unique = true, index = true },
    { "role", "varchar(20)", nullable = false, server_default = "user", index = true },
    { "owner_id", "bigint", references = "owners(id)", ondelete = "CASCADE", onupdate = "set null" },
    { "price", "numeric(10, 2)", check = "price >= 0" },
    { "flag", "boolean", default = false },
    { "a", "int" }, { "b", "int" },
    op.unique({ "a", "b" }, "uq_things_a_b"),
    op.check("a < 1000", "ck_things_a"),
    { comment = "things we own", if_not_exists = true })
  op.create_table("pairs", { "x", "int", primary_key = true }, { "y", "int", primary_key = true },
    op.foreign_key({ "x" }, "owners", { "id" }, { name = "fk_pairs_owner", ondelete = "restrict" }))
)lua",
              R"lua(
  op.drop_table("pairs")
  op.drop_table("things", { if_exists = true, cascade = true })
  op.drop_table("owners")
)lua");
  LM_OK(f, {"upgrade", "head"});
  CHECK(column_defs(f.db, "things") ==
        Strings{"id uuid NOT NULL DEFAULT gen_random_uuid()", "n integer NOT NULL IDENTITY",
                "name character varying(50) NOT NULL DEFAULT 'it''s'::character varying", "code text",
                "email text", "role character varying(20) NOT NULL DEFAULT 'user'::character varying",
                "owner_id bigint", "price numeric(10,2)", "flag boolean DEFAULT false", "a integer",
                "b integer"});
  CHECK(constraint_defs(f.db, "things") ==
        Strings{"ck_things_a: CHECK ((a < 1000))", "things_code_key: UNIQUE (code)",
                "things_owner_id_fkey: FOREIGN KEY (owner_id) REFERENCES owners(id) ON UPDATE SET NULL ON "
                "DELETE CASCADE",
                "things_pkey: PRIMARY KEY (id)", "things_price_check: CHECK ((price >= (0)::numeric))",
                "uq_things_a_b: UNIQUE (a, b)"});
  CHECK(index_defs(f.db, "things") ==
        Strings{"ix_things_email: CREATE UNIQUE INDEX ix_things_email ON public.things USING btree (email)",
                "ix_things_role: CREATE INDEX ix_things_role ON public.things USING btree (role)",
                "things_code_key: CREATE UNIQUE INDEX things_code_key ON public.things USING btree (code)",
                "things_pkey: CREATE UNIQUE INDEX things_pkey ON public.things USING btree (id)",
                "uq_things_a_b: CREATE UNIQUE INDEX uq_things_a_b ON public.things USING btree (a, b)"});
  CHECK(f.value("SELECT obj_description('things'::regclass, 'pg_class')") == "things we own");
  CHECK(f.value("SELECT col_description('things'::regclass, 2 + 1)") == "the name");
  CHECK(constraint_defs(f.db, "pairs") ==
        Strings{"fk_pairs_owner: FOREIGN KEY (x) REFERENCES owners(id) ON DELETE RESTRICT",
                "pairs_pkey: PRIMARY KEY (x, y)"});
  LM_OK(f, {"downgrade", "base"});
  CHECK(f.db.tables() == Strings{"alembic_version"});
}

TEST_CASE(
    "ops: the seed 004 schema (uuid keys, ON DELETE CASCADE, JSONB with a GIN index, composite indexes)",
    "[ops]") {
  Fixture f;
  f.migration("s004", std::nullopt, R"lua(
  op.create_table("users",
    { "uuid", "uuid", primary_key = true },
    { "username", "varchar(50)", nullable = false, unique = true, index = true },
    { "email", "varchar(255)", nullable = false, unique = true, index = true },
    { "password_hash", "varchar(255)" },
    { "auth_provider", "varchar(50)", nullable = false, default = "email" },
    { "provider_id", "varchar(255)", index = true },
    { "first_name", "varchar(100)" }, { "last_name", "varchar(100)" }, { "bio", "varchar(160)" },
    { "profile_picture", "varchar(500)" }, { "website", "varchar(500)" }, { "date_of_birth", "varchar(10)" },
    { "gender", "varchar(50)" }, { "phone_number", "varchar(20)" }, { "country", "varchar(100)" },
    { "is_active", "boolean", nullable = false, default = true },
    { "is_verified", "boolean", nullable = false, default = false },
    { "role", "varchar(20)", nullable = false, default = "user", index = true },
    { "created_at", "timestamptz", nullable = false, default = op.text("now()") },
    { "updated_at", "timestamptz" })
  op.create_table("blogs",
    { "id", "uuid", primary_key = true },
    { "author_id", "uuid", nullable = false, references = "users(uuid)", ondelete = "CASCADE", index = true },
    { "title", "varchar(100)", nullable = false },
    { "slug", "varchar(100)", nullable = false, unique = true, index = true },
    { "content", "varchar(50000)", nullable = false },
    { "summary", "varchar(300)" },
    { "view_count", "integer", nullable = false, default = 0 },
    { "word_count", "integer", nullable = false, default = 0 },
    { "reading_time_minutes", "integer", nullable = false, default = 0 },
    { "status", "varchar(20)", nullable = false, index = true },
    { "tags", "jsonb", nullable = false, default = op.text("'[]'::jsonb") },
    { "images_url", "jsonb" },
    { "created_at", "timestamptz", nullable = false, default = op.text("now()"), index = true },
    { "updated_at", "timestamptz" })
  op.create_index("ix_blogs_tags_gin", "blogs", { "tags" }, { using = "gin" })
  op.create_index("ix_blogs_status_created", "blogs", { "status", "created_at" })
  op.create_index("ix_blogs_author_status", "blogs", { "author_id", "status" })
)lua",
              R"lua(
  op.drop_index("ix_blogs_author_status")
  op.drop_index("ix_blogs_status_created")
  op.drop_index("ix_blogs_tags_gin", "blogs")
  op.drop_table("blogs")
  op.drop_table("users")
)lua",
              "", "initial schema");
  LM_OK(f, {"upgrade", "head"});
  CHECK(f.db.columns("users").size() == 20);
  CHECK(f.db.columns("blogs").size() == 14);
  auto idx = index_defs(f.db, "blogs");
  CHECK_THAT(idx[1], Contains("ix_blogs_author_id") && Contains("btree (author_id)"));
  CHECK(std::find(idx.begin(), idx.end(),
                  "ix_blogs_tags_gin: CREATE INDEX ix_blogs_tags_gin ON public.blogs USING gin (tags)") !=
        idx.end());
  CHECK(std::find(idx.begin(), idx.end(),
                  "ix_blogs_status_created: CREATE INDEX ix_blogs_status_created ON public.blogs USING btree "
                  "(status, created_at)") != idx.end());
  CHECK(std::find(idx.begin(), idx.end(),
                  "ix_blogs_author_status: CREATE INDEX ix_blogs_author_status ON public.blogs USING btree "
                  "(author_id, status)") != idx.end());
  CHECK(std::find(idx.begin(), idx.end(),
                  "ix_blogs_slug: CREATE UNIQUE INDEX ix_blogs_slug ON public.blogs USING btree (slug)") !=
        idx.end());
  // The cascade works: deleting a user deletes their blogs.
  f.db.exec(
      "INSERT INTO users (uuid, username, email) VALUES ('00000000-0000-0000-0000-000000000001', 'ann', "
      "'a@x');"
      "INSERT INTO blogs (id, author_id, title, slug, content, status, tags) VALUES "
      "('00000000-0000-0000-0000-0000000000b1', '00000000-0000-0000-0000-000000000001', 't', 's', 'c', "
      "'draft', "
      "'[\"x\"]');"
      "DELETE FROM users");
  CHECK(f.value("SELECT count(*) FROM blogs") == "0");
  CHECK(f.value("SELECT confdeltype FROM pg_constraint WHERE conname = 'blogs_author_id_fkey'") == "c");
  LM_OK(f, {"downgrade", "base"});
  CHECK(f.db.tables() == Strings{"alembic_version"});
}

TEST_CASE("ops: add_column, drop_column, alter_column in all its forms, rename_column and rename_table",
          "[ops]") {
  Fixture f;
  f.migration("a1", std::nullopt, R"lua(
  op.create_table("t", { "id", "int", primary_key = true }, { "v", "text" }, { "n", "text" })
  op.execute("INSERT INTO t VALUES (1, '42', 'x')")
)lua",
              R"lua(  op.drop_table("t"))lua");
  f.migration("b2", "a1", R"lua(
  op.add_column("t", { "extra", "varchar(20)", nullable = false, default = "e", comment = "added" })
  op.add_column("t", { "email", "text", index = true })
  op.drop_column("t", "n")
  op.alter_column("t", "v", { type = "integer", using = "v::integer", nullable = false, default = 7,
    comment = "a number", new_name = "num" })
)lua",
              R"lua(
  op.alter_column("t", "num", { new_name = "v" })
  op.alter_column("t", "v", { type = "text", nullable = true, default = op.NULL_DEFAULT, comment = false })
  op.add_column("t", { "n", "text" })
  op.drop_column("t", "email")
  op.drop_column("t", "extra")
)lua");
  f.migration("c3", "b2", R"lua(
  op.rename_column("t", "extra", "more")
  op.rename_table("t", "t2")
  op.alter_column("t2", "more", { server_default = op.text("upper('z')") })
)lua",
              R"lua(
  op.alter_column("t2", "more", { default = "e" })
  op.rename_table("t2", "t")
  op.rename_column("t", "more", "extra")
)lua");
  LM_OK(f, {"upgrade", "b2"});
  CHECK(column_defs(f.db, "t") ==
        Strings{"id integer NOT NULL", "num integer NOT NULL DEFAULT 7",
                "extra character varying(20) NOT NULL DEFAULT 'e'::character varying", "email text"});
  CHECK(f.value("SELECT num FROM t") == "42");
  CHECK(f.value("SELECT col_description('t'::regclass, 2)") == "a number");
  CHECK(f.value("SELECT col_description('t'::regclass, 4)") == "added");
  CHECK(index_defs(f.db, "t")[0] == "ix_t_email: CREATE INDEX ix_t_email ON public.t USING btree (email)");
  LM_OK(f, {"upgrade", "c3"});
  CHECK_FALSE(f.db.table_exists("t"));
  CHECK(column_defs(f.db, "t2")[2] == "more character varying(20) NOT NULL DEFAULT upper('z'::text)");
  LM_OK(f, {"downgrade", "b2"});
  CHECK(column_defs(f.db, "t")[2] == "extra character varying(20) NOT NULL DEFAULT 'e'::character varying");
  LM_OK(f, {"downgrade", "a1"});
  CHECK(column_defs(f.db, "t") == Strings{"id integer NOT NULL", "v text", "n text"});
  CHECK(f.value("SELECT v FROM t") == "42");
  CHECK(f.value("SELECT col_description('t'::regclass, 2)") == "<null>");
}

TEST_CASE("ops: create_index options, drop_index, and CONCURRENTLY inside autocommit_block", "[ops]") {
  Fixture f;
  f.migration("a1", std::nullopt, R"lua(
  op.create_table("u", { "id", "int", primary_key = true }, { "email", "text" }, { "tags", "jsonb" },
    { "deleted", "boolean" })
  op.create_index("ix_u_lower_email", "u", { op.text("lower(email)") }, { unique = true, where = "NOT deleted" })
  op.create_index("ix_u_tags", "u", "tags", { using = "gin" })
  op.create_index("ix_u_email_inc", "u", { "email" }, { include = { "id" }, if_not_exists = true })
  op.create_index("ix_u_email_inc", "u", { "email" }, { if_not_exists = true })
  op.autocommit_block(function()
    op.create_index("ix_u_id_email", "u", { "id", "email" }, { concurrently = true })
  end)
)lua",
              R"lua(
  op.autocommit_block(function() op.drop_index("ix_u_id_email", { concurrently = true }) end)
  op.drop_index("ix_u_email_inc", "u")
  op.drop_index("ix_u_tags", { if_exists = true })
  op.drop_index("ix_u_tags", { if_exists = true })
  op.drop_index("ix_u_lower_email")
  assert(op.query_value("SELECT count(*) FROM pg_indexes WHERE tablename = 'u'") == 1)
  op.drop_table("u")
)lua");
  LM_OK(f, {"upgrade", "head"});
  CHECK(
      index_defs(f.db, "u") ==
      Strings{"ix_u_email_inc: CREATE INDEX ix_u_email_inc ON public.u USING btree (email) INCLUDE (id)",
              "ix_u_id_email: CREATE INDEX ix_u_id_email ON public.u USING btree (id, email)",
              "ix_u_lower_email: CREATE UNIQUE INDEX ix_u_lower_email ON public.u USING btree (lower(email)) "
              "WHERE (NOT deleted)",
              "ix_u_tags: CREATE INDEX ix_u_tags ON public.u USING gin (tags)",
              "u_pkey: CREATE UNIQUE INDEX u_pkey ON public.u USING btree (id)"});
  CHECK(f.value("SELECT bool_and(indisvalid) FROM pg_index WHERE indrelid = 'u'::regclass") == "t");
  LM_OK(f, {"downgrade", "base"});
  CHECK(f.db.tables() == Strings{"alembic_version"});
}

TEST_CASE("ops: concurrently inside a transaction is refused with a message naming the ways out", "[ops]") {
  Fixture f;
  f.migration("a1", std::nullopt, R"lua(
  op.create_table("u", { "id", "int" })
  op.create_index("ix_u", "u", { "id" }, { concurrently = true })
)lua",
              "");
  auto r = f.lm({"upgrade", "head"});
  CHECK(r.status == 1);
  CHECK_THAT(r.err,
             Contains("op.create_index: concurrently = true cannot run inside a transaction; wrap it in "
                      "op.autocommit_block(function() ... end) or declare `transactional = false`"));
  CHECK_THAT(r.err, Contains("a1_msg.lua:15"));
  CHECK_FALSE(f.db.table_exists("u"));
}

TEST_CASE("ops: primary key, unique, foreign key and check constraints, drop_constraint", "[ops]") {
  Fixture f;
  f.migration("a1", std::nullopt, R"lua(
  op.create_table("p", { "id", "int", nullable = false }, { "code", "text" })
  op.create_table("c", { "id", "int", nullable = false }, { "pid", "int" }, { "qty", "int" })
  op.create_primary_key("pk_p", "p", { "id" })
  op.create_primary_key("pk_c", "c", "id")
  op.create_unique_constraint("uq_p_code", "p", { "code" }, { deferrable = true, initially = "deferred" })
  op.create_foreign_key("fk_c_p", "c", "p", { "pid" }, { "id" },
    { ondelete = "SET NULL", onupdate = "cascade", deferrable = true, initially = "DEFERRED", match = "full" })
  op.create_check_constraint("ck_c_qty", "c", "qty > 0", { not_valid = true })
  op.create_foreign_key("fk_c_p2", "c", "p", "pid", "id", { not_valid = true })
)lua",
              R"lua(
  op.drop_constraint("fk_c_p2", "c", { type_ = "foreignkey" })
  op.drop_constraint("ck_c_qty", "c")
  op.drop_constraint("fk_c_p", "c")
  op.drop_constraint("uq_p_code", "p", { if_exists = true })
  op.drop_constraint("uq_p_code", "p", { if_exists = true })
  op.drop_constraint("pk_c", "c")
  op.drop_constraint("pk_p", "p", { cascade = true })
)lua");
  LM_OK(f, {"upgrade", "head"});
  CHECK(constraint_defs(f.db, "p") ==
        Strings{"pk_p: PRIMARY KEY (id)", "uq_p_code: UNIQUE (code) DEFERRABLE INITIALLY DEFERRED"});
  CHECK(constraint_defs(f.db, "c") ==
        Strings{"ck_c_qty: CHECK ((qty > 0)) NOT VALID",
                "fk_c_p: FOREIGN KEY (pid) REFERENCES p(id) MATCH FULL ON UPDATE CASCADE ON DELETE SET NULL "
                "DEFERRABLE INITIALLY DEFERRED",
                "fk_c_p2: FOREIGN KEY (pid) REFERENCES p(id) NOT VALID", "pk_c: PRIMARY KEY (id)"});
  LM_OK(f, {"downgrade", "base"});
  CHECK(f.value("SELECT count(*) FROM pg_constraint WHERE conrelid IN ('p'::regclass, 'c'::regclass)") ==
        "0");
}

TEST_CASE("ops: table comments, and every op with the schema option", "[ops]") {
  Fixture f;
  f.db.exec("CREATE SCHEMA billing");
  f.migration("a1", std::nullopt, R"lua(
  local s = { schema = "billing" }
  op.create_table("acct", { "id", "int", primary_key = true }, { "name", "text" }, s)
  op.create_table("inv", { "id", "int", primary_key = true }, { "acct_id", "int" }, s)
  op.add_column("inv", { "total", "numeric" }, s)
  op.create_index("ix_inv_acct", "inv", { "acct_id" }, s)
  op.create_foreign_key("fk_inv_acct", "inv", "acct", { "acct_id" }, { "id" },
    { source_schema = "billing", referent_schema = "billing" })
  op.create_check_constraint("ck_total", "inv", "total >= 0", s)
  op.create_table_comment("inv", "invoices", { schema = "billing" })
  op.alter_column("inv", "total", { nullable = false, default = 0, schema = "billing" })
  op.bulk_insert("acct", { { id = 1, name = "a" } }, s)
)lua",
              R"lua(
  local s = { schema = "billing" }
  op.drop_table_comment("inv", s)
  op.drop_constraint("ck_total", "inv", s)
  op.drop_constraint("fk_inv_acct", "inv", s)
  op.drop_index("ix_inv_acct", s)
  op.drop_column("inv", "total", s)
  op.drop_table("inv", s)
  op.drop_table("acct", s)
)lua");
  LM_OK(f, {"upgrade", "head"});
  CHECK(f.db.tables("billing") == Strings{"acct", "inv"});
  CHECK(f.db.tables() == Strings{"alembic_version"});
  CHECK(column_defs(f.db, "inv", "billing")[2] == "total numeric NOT NULL DEFAULT 0");
  CHECK(constraint_defs(f.db, "billing.inv") ==
        Strings{"ck_total: CHECK ((total >= (0)::numeric))",
                "fk_inv_acct: FOREIGN KEY (acct_id) REFERENCES billing.acct(id)",
                "inv_pkey: PRIMARY KEY (id)"});
  CHECK(index_defs(f.db, "inv", "billing").size() == 2);
  CHECK(f.value("SELECT obj_description('billing.inv'::regclass, 'pg_class')") == "invoices");
  CHECK(f.value("SELECT name FROM billing.acct") == "a");
  LM_OK(f, {"downgrade", "base"});
  CHECK(f.db.tables("billing").empty());
}

TEST_CASE("ops: hostile identifiers and strings are quoted, never spliced", "[ops]") {
  DUAL_FIXTURE(f);
  // Every string below must arrive byte for byte.
  f.migration("a1", std::nullopt, R"lua(
  local weird = 'we"ird name'
  local col = "'; DROP TABLE victim; --"
  op.execute("CREATE TABLE victim (id int)")
  op.create_table(weird, { "id", "int", primary_key = true }, { col, "text", default = "x'); DROP TABLE victim; --" },
    { "b", "text", default = "back\\slash 'q' \"dq\" $1 $$" })
  op.create_index('ix "q', weird, { col })
  op.bulk_insert(weird, {
    { id = 1, [col] = "O'Reilly; DROP TABLE victim; --" },
    { id = 2, [col] = "tab\there\nnewline \\ back" },
    { id = 3, [col] = op.NULL },
    { id = 4 },
    { id = 5, [col] = "$1 ? :name %s {}" },
  })
  local n = op.execute('INSERT INTO "we""ird name" (id, "' .. col:gsub('"', '""') .. '") VALUES ($1, $2)', 6, "';--\0")
)lua",
              "");
  auto r = f.lm({"upgrade", "head"});
  CHECK(r.status == 1);
  CHECK_THAT(r.err,
             Contains("op.execute: parameter $2 contains a NUL byte, which PostgreSQL text cannot hold"));
  f.migration("a1", std::nullopt, R"lua(
  local weird = 'we"ird name'
  local col = "'; DROP TABLE victim; --"
  op.execute("CREATE TABLE victim (id int)")
  op.create_table(weird, { "id", "int", primary_key = true }, { col, "text", default = "x'); DROP TABLE victim; --" },
    { "b", "text", default = "back\\slash 'q' \"dq\" $1 $$" })
  op.create_index('ix "q', weird, { col })
  op.bulk_insert(weird, {
    { id = 1, [col] = "O'Reilly; DROP TABLE victim; --" },
    { id = 2, [col] = "tab\there\nnewline \\ back" },
    { id = 3, [col] = op.NULL },
    { id = 4 },
    { id = 5, [col] = "$1 ? :name %s {}" },
  })
  local n = op.execute('INSERT INTO "we""ird name" (id, "' .. col:gsub('"', '""') .. '") VALUES ($1, $2)', 6, "';--")
  assert(n == 1)
  local row = op.query_one('SELECT "' .. col:gsub('"', '""') .. '" AS v FROM "we""ird name" WHERE id = $1', 2)
  assert(row.v == "tab\there\nnewline \\ back", row.v)
)lua",
              "");
  LM_OK(f, {"upgrade", "head"});
  CHECK(f.db.table_exists("victim"));
  CHECK(f.db.table_exists("we\"ird name"));
  CHECK(f.db.columns("we\"ird name") == Strings{"id", "'; DROP TABLE victim; --", "b"});
  CHECK(f.column(
            "SELECT COALESCE(\"'; DROP TABLE victim; --\", '<NULL>') FROM \"we\"\"ird name\" ORDER BY id") ==
        Strings{"O'Reilly; DROP TABLE victim; --", "tab\there\nnewline \\ back", "<NULL>",
                "x'); DROP TABLE victim; --", "$1 ? :name %s {}", "';--"});
  CHECK(f.value("SELECT b FROM \"we\"\"ird name\" WHERE id = 1") == "back\\slash 'q' \"dq\" $1 $$");
  CHECK(f.db.index_exists("ix \"q"));
}

TEST_CASE("ops: op.query maps types, streams, and query_one/query_value cover the small cases", "[ops]") {
  Fixture f;
  f.migration("a1", std::nullopt, R"lua(
  local r = op.query_one([[SELECT 42::int AS i, 9007199254740993::bigint AS big, 9007199254740992::bigint AS edge,
      -5::smallint AS s, 1.5::float8 AS d, 2.25::real AS r, true AS yes, false AS no, NULL::int AS nothing,
      12.30::numeric AS num, 'txt'::text AS t, '{"a": 1}'::jsonb AS j, DATE '2026-01-02' AS day,
      'abc'::bytea AS bin, ARRAY[1,2] AS arr]])
  assert(r.i == 42 and type(r.i) == "number")
  assert(r.big == "9007199254740993", "big " .. tostring(r.big))
  assert(r.edge == 9007199254740992, "edge " .. tostring(r.edge))
  assert(r.s == -5 and r.d == 1.5 and r.r == 2.25)
  assert(r.yes == true and r.no == false)
  assert(r.nothing == op.NULL)
  assert(r.num == "12.30" and r.t == "txt" and r.j == '{"a": 1}' and r.day == "2026-01-02")
  assert(r.bin == "\\x616263" and r.arr == "{1,2}")
  assert(op.query_value("SELECT NULL") == nil)
  assert(op.query_value("SELECT 'x' WHERE false") == nil)
  assert(op.query_value("SELECT $1::text || $2::text", "a", 1) == "a1")
  assert(op.query_one("SELECT 1 WHERE false") == nil)
  -- A loop that runs statements while it iterates, and a loop left early.
  op.execute("CREATE TABLE log (n int)")
  local sum = 0
  for row in op.query("SELECT g FROM generate_series(1, 5000) g") do
    sum = sum + row.g
    if row.g % 1000 == 0 then op.execute("INSERT INTO log VALUES ($1)", row.g) end
  end
  assert(sum == 12502500, sum)
  for row in op.query("SELECT g FROM generate_series(1, 5000) g") do if row.g == 3 then break end end
  assert(op.query_value("SELECT count(*) FROM log") == 5)
)lua",
              "");
  auto r = f.lm({"upgrade", "head"});
  INFO(r.describe());
  CHECK(r.status == 0);
}

TEST_CASE("ops: a Lua table as a parameter is refused with a clear error", "[ops]") {
  DUAL_FIXTURE(f);
  f.migration("a1", std::nullopt, R"lua(
  op.execute("SELECT $1, $2", "ok", { 1, 2 })
)lua",
              "");
  auto r = f.lm({"upgrade", "head"});
  CHECK(r.status == 1);
  CHECK_THAT(r.err,
             Contains("op.execute: parameter $2 is a table; pass a string, number, boolean, nil or op.NULL"));
  f.migration("a1", std::nullopt, R"lua(
  for row in op.query("SELECT $1", { x = 1 }) do end
)lua",
              "");
  r = f.lm({"upgrade", "head"});
  CHECK(r.status == 1);
  CHECK_THAT(r.err,
             Contains("op.query: parameter $1 is a table; pass a string, number, boolean, nil or op.NULL"));
}

TEST_CASE("ops: argument errors name the op and the problem", "[ops]") {
  DUAL_FIXTURE(f);
  auto error_of = [&](const std::string& body) {
    f.migration("a1", std::nullopt, body, "");
    auto r = f.lm({"upgrade", "head"});
    CHECK(r.status == 1);
    return r.err;
  };
  CHECK_THAT(error_of("  op.create_table('t', { 'id', 'int', nulable = false })"),
             Contains("op.create_table: column 'id': unknown attribute 'nulable'"));
  CHECK_THAT(error_of("  op.add_column('t', { 'x', 'int' }, { shema = 'x' })"),
             Contains("op.add_column: unknown option 'shema' (known: if_not_exists, schema)"));
  CHECK_THAT(
      error_of("  op.alter_column('t', 'x', {})"),
      Contains("op.alter_column: nothing to change (give type, nullable, default, comment or new_name)"));
  CHECK_THAT(error_of("  op.alter_column('t', 'x', { using = 'x::int' })"),
             Contains("op.alter_column: using needs type"));
  CHECK_THAT(error_of("  op.create_index('i', 't', {})"),
             Contains("op.create_index: columns must be a non-empty list"));
  CHECK_THAT(error_of("  op.create_foreign_key('f', 'a', 'b', { 'x', 'y' }, { 'id' })"),
             Contains("op.create_foreign_key: 2 local column(s) but 1 remote column(s)"));
  CHECK_THAT(error_of("  op.create_table('t', { 'id', 'int', ondelete = 'cascade' })"),
             Contains("ondelete/onupdate need references"));
  CHECK_THAT(error_of("  op.transaction(function() end)"),
             Contains("op.transaction: a transaction is already open"));
  CHECK_THAT(error_of("  local c = {} for i = 1, 33 do c[i] = 'c' .. i end\n  op.copy_rows('t', c, { {} })"),
             Contains("COPY takes 1 to 32 columns here, not 33"));
  CHECK_THAT(
      error_of("  op.copy_rows('t', { 'a' }, { { {} } })"),
      Contains(
          "op.copy_rows: row 1, column \"a\" is a table; pass a string, number, boolean, nil or op.NULL"));
}

TEST_CASE("ops: autocommit_block commits the work before it, and a later failure says what stayed", "[ops]") {
  DUAL_FIXTURE(f);
  f.migration("a1", std::nullopt, R"lua(
  op.create_table("before_block", { "id", "int" })
  op.autocommit_block(function()
    assert(not op.in_transaction())
    op.execute("CREATE TABLE in_block (id int)")
  end)
  assert(op.in_transaction())
  op.create_table("after_block", { "id", "int" })
  op.execute("SELECT * FROM no_such_table")
)lua",
              "");
  auto r = f.lm({"upgrade", "head"});
  CHECK(r.status == 1);
  CHECK_THAT(r.err,
             Contains("its open transaction was rolled back, but the work it committed (autocommit_block, "
                      "op.transaction) stays; the version table was not updated"));
  CHECK(f.db.table_exists("before_block"));
  CHECK(f.db.table_exists("in_block"));
  CHECK_FALSE(f.db.table_exists("after_block"));
  CHECK(f.db.version_rows().empty());
}

TEST_CASE("ops: transactional = false runs without a transaction and records the version right after",
          "[ops]") {
  DUAL_FIXTURE(f);
  f.migration("a1", std::nullopt, R"lua(  op.create_table("t", { "id", "int" }))lua",
              R"lua(  op.drop_table("t"))lua");
  f.migration("b2", "a1", R"lua(
  assert(not op.in_transaction())
  -- SQLite has no concurrent index builds: a migration branches on context.dialect when it must.
  op.execute(context.dialect == "postgresql" and "CREATE INDEX CONCURRENTLY ix_t_id ON t (id)"
             or "CREATE INDEX ix_t_id ON t (id)")
  op.transaction(function()
    assert(op.in_transaction())
    op.execute("INSERT INTO t VALUES (1)")
  end)
)lua",
              R"lua(  op.drop_index("ix_t_id", { concurrently = true }))lua", "transactional = false");
  f.migration("c3", "b2", R"lua(
  op.execute("CREATE TABLE c3_done (id int)")
  op.execute("SELECT * FROM no_such_table")
)lua",
              "", "transactional = false");
  auto r = f.lm({"upgrade", "head"});
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Contains("Running upgrade a1 -> b2"));
  CHECK_THAT(r.err,
             Contains("it declares `transactional = false`, so the statements it ran before the failure were "
                      "committed and stay; the version table was not updated"));
  CHECK(f.db.version_rows() == Strings{"b2"});
  CHECK(f.db.index_exists("ix_t_id"));
  CHECK(f.value("SELECT count(*) FROM t") == "1");
  CHECK(f.db.table_exists("c3_done"));
  LM_OK(f, {"downgrade", "a1"});
  CHECK_FALSE(f.db.index_exists("ix_t_id"));

  f.migration("c3", "b2", "", "", "transactional = 'no'");
  r = f.lm({"upgrade", "head"});
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Contains("c3_msg.lua: `transactional` must be true or false, got a string"));
}

TEST_CASE("ops: op.query rows cannot be read after their transaction ended", "[ops]") {
  DUAL_FIXTURE(f);
  f.migration("a1", std::nullopt, R"lua(
  op.transaction(function() it = op.query("WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < 10000) SELECT g FROM s") end)
  local first = it()
  it()
)lua",
              "", "transactional = false");
  auto r = f.lm({"upgrade", "head"});
  INFO(r.describe());
  if (f.sqlite()) {
    // SQLite reads rows one step at a time: none was read before the COMMIT.
    CHECK(r.status == 1);
    CHECK_THAT(r.err, Contains("this query's rows can no longer be read: its transaction has ended"));
  } else {
    CHECK(r.status == 0);  // rows fetched before the COMMIT (the first 2000) are still there
  }
  f.migration("a1", std::nullopt, R"lua(
  op.transaction(function() it = op.query("WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < 10000) SELECT g FROM s") end)
  for i = 1, 3000 do it() end
)lua",
              "", "transactional = false");
  f.db.exec("DROP TABLE IF EXISTS alembic_version");
  r = f.lm({"upgrade", "head"});
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Contains("this query's rows can no longer be read: its transaction has ended"));
}

TEST_CASE(
    "ops: with transaction_per_migration = false, a transactional = false step commits what came before it",
    "[ops]") {
  DUAL_FIXTURE(f);
  f.proj.write_config("url = \"" + f.db.url() + "\"\ntransaction_per_migration = false");
  f.migration("a1", std::nullopt, R"lua(  op.create_table("t", { "id", "int" }))lua", "");
  f.migration("b2", "a1", R"lua(  op.create_index("ix_t", "t", { "id" }, { concurrently = true }))lua", "",
              "transactional = false");
  f.migration("c3", "b2", R"lua(
  op.create_table("c3_table", { "id", "int" })
  op.execute("SELECT * FROM no_such_table")
)lua",
              "");
  auto r = f.lm({"upgrade", "head"});
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Contains("The database is at b2: 2 of 3 steps applied."));
  CHECK(f.db.version_rows() == Strings{"b2"});
  CHECK(f.db.table_exists("t"));
  CHECK_FALSE(f.db.table_exists("c3_table"));
}

// ---------------------------------------------------------------------------------------------------------------
// Portable versions of the operations above, once per dialect, checked by their effects: columns,
// nullability, defaults, enforced keys and constraints, rows kept through every change.

TEST_CASE("ops: create_table with generic types, column attributes and constraints, on both dialects",
          "[ops]") {
  DUAL_FIXTURE(f);
  f.migration("a1", std::nullopt, R"lua(
  local T = op.types
  op.create_table("owners", { "id", T.serial, primary_key = true }, { "name", T.string(50), nullable = false })
  op.create_table("things",
    { "id", T.serial, primary_key = true },
    { "name", T.string(50), nullable = false, default = "it's", comment = "the name" },
    { "code", T.text, unique = true },
    { "email", T.text, unique = true, index = true },
    { "role", T.string(20), nullable = false, server_default = "user", index = true },
    { "owner_id", T.integer, references = "owners(id)", ondelete = "CASCADE" },
    { "price", T.numeric(10, 2), check = "price >= 0" },
    { "flag", T.boolean, default = false },
    { "big", T.bigint },
    { "at", T.timestamp },
    { "a", T.integer }, { "b", T.integer },
    op.unique({ "a", "b" }, "uq_things_a_b"),
    op.check("a < 1000", "ck_things_a"),
    { comment = "things we own", if_not_exists = true })
  op.execute("INSERT INTO owners (name) VALUES ($1)", "ann")
  op.execute("INSERT INTO things (code, email, owner_id, price, a, b) VALUES ($1, $2, $3, $4, $5, $6)",
    "c1", "e1", 1, "9.50", 1, 2)
)lua",
              R"lua(
  op.drop_table("things", { if_exists = true })
  op.drop_table("owners")
)lua");
  LM_OK(f, {"upgrade", "head"});
  CHECK(f.db.columns("things") ==
        Strings{"id", "name", "code", "email", "role", "owner_id", "price", "flag", "big", "at", "a", "b"});
  CHECK_FALSE(f.db.column("things", "id").nullable);
  CHECK_FALSE(f.db.column("things", "name").nullable);
  CHECK(f.db.column("things", "code").nullable);
  CHECK(f.db.named_indexes("things") == Strings{"ix_things_email", "ix_things_role"});
  // Defaults, the serial key and the booleans as each database stores them.
  CHECK(f.value("SELECT id || ' ' || name || ' ' || role || ' ' || flag FROM things") ==
        (f.sqlite() ? "1 it's user 0" : "1 it's user false"));
  // Unique, check and foreign-key constraints are enforced.
  CHECK_THROWS(f.db.exec("INSERT INTO things (code) VALUES ('c1')"));
  CHECK_THROWS(f.db.exec("INSERT INTO things (email) VALUES ('e1')"));
  CHECK_THROWS(f.db.exec("INSERT INTO things (price) VALUES (-1)"));
  CHECK_THROWS(f.db.exec("INSERT INTO things (a, b) VALUES (1, 2)"));
  CHECK_THROWS(f.db.exec("INSERT INTO things (a) VALUES (1000)"));
  CHECK_THROWS(f.db.exec("INSERT INTO things (name) VALUES (NULL)"));
  // SQLite enforces foreign keys only with PRAGMA foreign_keys = ON (off by default, as with Alembic).
  const std::string fk_on = f.sqlite() ? "PRAGMA foreign_keys = ON; " : "";
  CHECK_THROWS(f.db.exec(fk_on + "INSERT INTO things (owner_id) VALUES (42)"));
  f.db.exec(fk_on + "DELETE FROM owners");
  CHECK(f.value("SELECT count(*) FROM things") == "0");
  if (f.sqlite()) {
    // Comments are dropped on SQLite: the table's DDL carries none.
    CHECK_THAT(f.value("SELECT sql FROM sqlite_master WHERE name = 'things'"), !Contains("things we own"));
  } else {
    CHECK(f.value("SELECT obj_description('things'::regclass, 'pg_class')") == "things we own");
  }
  LM_OK(f, {"downgrade", "base"});
  CHECK(f.db.tables() == Strings{"alembic_version"});
}

TEST_CASE(
    "ops: add_column, drop_column, alter_column, rename_column and rename_table keep the rows, on both "
    "dialects",
    "[ops]") {
  DUAL_FIXTURE(f);
  f.migration("a1", std::nullopt, R"lua(
  op.create_table("t", { "id", op.types.integer, primary_key = true }, { "v", op.types.string(10) },
    { "n", op.types.text })
  op.create_index("ix_t_v", "t", { "v" })
  for i = 1, 20 do op.execute("INSERT INTO t VALUES ($1, $2, $3)", i, tostring(i * 2), "x" .. i) end
)lua",
              R"lua(  op.drop_table("t"))lua");
  f.migration("b2", "a1", R"lua(
  op.add_column("t", { "extra", op.types.string(20), nullable = false, default = "e", comment = "added" })
  op.add_column("t", { "email", op.types.text, index = true })
  op.drop_column("t", "n")
  op.alter_column("t", "v", { type = op.types.text, nullable = false, default = "7", new_name = "num" })
)lua",
              R"lua(
  op.alter_column("t", "num", { new_name = "v" })
  op.alter_column("t", "v", { type = op.types.string(10), nullable = true, default = op.NULL_DEFAULT })
  op.add_column("t", { "n", op.types.text })
  op.drop_column("t", "email")
  op.drop_column("t", "extra")
)lua");
  f.migration("c3", "b2", R"lua(
  op.rename_column("t", "extra", "more")
  op.rename_table("t", "t2")
  op.alter_column("t2", "more", { server_default = "z" })
)lua",
              R"lua(
  op.alter_column("t2", "more", { default = "e" })
  op.rename_table("t2", "t")
  op.rename_column("t", "more", "extra")
)lua");
  LM_OK(f, {"upgrade", "b2"});
  CHECK(f.db.columns("t") == Strings{"id", "num", "extra", "email"});
  CHECK_FALSE(f.db.column("t", "num").nullable);
  CHECK_FALSE(f.db.column("t", "extra").nullable);
  CHECK_THAT(f.db.column("t", "num").default_expr, Contains("7"));
  CHECK_THAT(f.db.column("t", "extra").default_expr, Contains("'e'"));
  CHECK(f.value("SELECT count(*) FROM t") == "20");
  CHECK(f.value("SELECT num || ' ' || extra FROM t WHERE id = 3") == "6 e");
  CHECK(f.db.index_exists("ix_t_email"));
  CHECK(f.db.index_exists("ix_t_v"));  // an index on a renamed column survives (and follows the rename)
  CHECK_THROWS(f.db.exec("INSERT INTO t (id, num) VALUES (100, NULL)"));
  f.db.exec("INSERT INTO t (id) VALUES (100)");
  CHECK(f.value("SELECT num FROM t WHERE id = 100") == "7");
  LM_OK(f, {"upgrade", "c3"});
  CHECK_FALSE(f.db.table_exists("t"));
  CHECK(f.db.columns("t2") == Strings{"id", "num", "more", "email"});
  CHECK_THAT(f.db.column("t2", "more").default_expr, Contains("'z'"));
  CHECK(f.value("SELECT count(*) FROM t2") == "21");
  LM_OK(f, {"downgrade", "b2"});
  CHECK(f.db.columns("t") == Strings{"id", "num", "extra", "email"});
  LM_OK(f, {"downgrade", "a1"});
  CHECK(f.db.columns("t") == Strings{"id", "v", "n"});
  CHECK(f.db.column("t", "v").nullable);
  CHECK(f.db.column("t", "v").default_expr.empty());
  CHECK(f.value("SELECT v FROM t WHERE id = 3") == "6");
  CHECK(f.value("SELECT count(*) FROM t") == "21");
  CHECK(f.db.index_exists("ix_t_v"));
  CHECK_FALSE(f.db.index_exists("ix_t_email"));
}

TEST_CASE("ops: create_index and drop_index, on both dialects; index methods and INCLUDE are PostgreSQL's",
          "[ops]") {
  DUAL_FIXTURE(f);
  f.migration("a1", std::nullopt, R"lua(
  op.create_table("u", { "id", op.types.integer, primary_key = true }, { "email", op.types.text },
    { "deleted", op.types.boolean })
  op.create_index("ix_u_lower_email", "u", { op.text("lower(email)") }, { unique = true, where = "NOT deleted" })
  op.create_index("ix_u_email", "u", { "email" }, { if_not_exists = true })
  op.create_index("ix_u_email", "u", { "email" }, { if_not_exists = true })
  op.autocommit_block(function()
    op.create_index("ix_u_id_email", "u", { "id", "email" }, { concurrently = true })
  end)
)lua",
              R"lua(
  op.autocommit_block(function() op.drop_index("ix_u_id_email", { concurrently = true }) end)
  op.drop_index("ix_u_email", "u")
  op.drop_index("ix_u_email", { if_exists = true })
  op.drop_index("ix_u_lower_email")
  op.drop_table("u")
)lua");
  LM_OK(f, {"upgrade", "head"});
  CHECK(f.db.named_indexes("u") == Strings{"ix_u_email", "ix_u_id_email", "ix_u_lower_email"});
  // The partial unique expression index is enforced on live rows only.
  f.db.exec("INSERT INTO u VALUES (1, 'A@x', false)");
  f.db.exec("INSERT INTO u VALUES (2, 'a@X', true)");
  CHECK_THROWS(f.db.exec("INSERT INTO u VALUES (3, 'a@x', false)"));
  LM_OK(f, {"downgrade", "base"});
  CHECK(f.db.tables() == Strings{"alembic_version"});

  // An index method or INCLUDE columns: PostgreSQL builds them, SQLite refuses them by name.
  f.migration("a1", std::nullopt, R"lua(
  op.create_table("v", { "id", op.types.integer }, { "tags", op.types.json })
  op.create_index("ix_v_tags", "v", { "tags" }, { using = "gin" })
)lua",
              "");
  auto r = f.lm({"upgrade", "head"});
  INFO(r.describe());
  if (f.sqlite()) {
    CHECK(r.status == 1);
    CHECK_THAT(r.err, Contains("op.create_index: index method 'gin' is not available on SQLite"));
    CHECK_THAT(r.err, Contains("a1_msg.lua:15"));
    CHECK_FALSE(f.db.table_exists("v"));
  } else {
    CHECK(r.status == 0);
    CHECK(f.db.index_exists("ix_v_tags"));
  }
}

TEST_CASE("ops: primary key, unique, foreign key and check constraints, drop_constraint, on both dialects",
          "[ops]") {
  DUAL_FIXTURE(f);
  f.migration("a1", std::nullopt, R"lua(
  op.create_table("p", { "id", op.types.integer, nullable = false }, { "code", op.types.text })
  op.create_table("c", { "id", op.types.integer, nullable = false }, { "pid", op.types.integer },
    { "qty", op.types.integer })
  op.execute("INSERT INTO p VALUES (1, 'a'), (2, 'b')")
  op.execute("INSERT INTO c VALUES (10, 1, 5), (11, 2, 6)")
  op.create_primary_key("pk_p", "p", { "id" })
  op.create_primary_key("pk_c", "c", "id")
  op.create_unique_constraint("uq_p_code", "p", { "code" })
  op.create_foreign_key("fk_c_p", "c", "p", { "pid" }, { "id" }, { ondelete = "CASCADE" })
  op.create_check_constraint("ck_c_qty", "c", "qty > 0")
)lua",
              R"lua(
  op.drop_constraint("ck_c_qty", "c")
  op.drop_constraint("fk_c_p", "c", { type_ = "foreignkey" })
  op.drop_constraint("uq_p_code", "p")
  op.drop_constraint("pk_c", "c")
  op.drop_constraint("pk_p", "p")
)lua");
  LM_OK(f, {"upgrade", "head"});
  CHECK(f.value("SELECT count(*) FROM p") == "2");
  CHECK(f.value("SELECT count(*) FROM c") == "2");
  const std::string fk_on = f.sqlite() ? "PRAGMA foreign_keys = ON; " : "";
  CHECK_THROWS(f.db.exec("INSERT INTO p VALUES (1, 'z')"));
  CHECK_THROWS(f.db.exec("INSERT INTO p VALUES (3, 'a')"));
  CHECK_THROWS(f.db.exec("INSERT INTO c VALUES (12, 1, 0)"));
  CHECK_THROWS(f.db.exec(fk_on + "INSERT INTO c VALUES (12, 99, 1)"));
  f.db.exec(fk_on + "DELETE FROM p WHERE id = 1");
  CHECK(f.db.query_column("SELECT id FROM c") == Strings{"11"});
  LM_OK(f, {"downgrade", "base"});
  // Every constraint is gone and the rows stayed.
  f.db.exec(fk_on + "INSERT INTO p VALUES (2, 'b'); INSERT INTO c VALUES (11, 99, 0)");
  CHECK(f.value("SELECT count(*) FROM p") == "2");
  CHECK(f.value("SELECT count(*) FROM c") == "2");
}

TEST_CASE("ops: op.query, query_one and query_value map each dialect's types to Lua", "[ops]") {
  DUAL_FIXTURE(f);
  // The same portable statements on both; the comments say where the databases differ.
  f.migration("a1", std::nullopt, R"lua(
  op.create_table("vals", { "i", op.types.integer }, { "big", op.types.bigint }, { "d", op.types.float },
    { "t", op.types.text }, { "yes", op.types.boolean }, { "nothing", op.types.integer },
    { "num", op.types.numeric(10, 2) })
  op.execute("INSERT INTO vals VALUES ($1, $2, $3, $4, $5, $6, $7)", 42, "9007199254740993", 1.5, "txt", true,
    op.NULL, "12.30")
  local r = op.query_one("SELECT * FROM vals")
  assert(r.i == 42 and type(r.i) == "number", "i " .. tostring(r.i))
  assert(r.big == "9007199254740993", "big " .. tostring(r.big))
  assert(r.d == 1.5, "d " .. tostring(r.d))
  assert(r.t == "txt")
  assert(r.nothing == op.NULL)
  if context.dialect == "sqlite" then
    assert(r.yes == 1, "SQLite stores booleans as 0/1: " .. tostring(r.yes))
    assert(r.num == 12.3, "SQLite's NUMERIC affinity stores 12.30 as a REAL: " .. tostring(r.num))
  else
    assert(r.yes == true, "yes " .. tostring(r.yes))
    assert(r.num == "12.30", "num " .. tostring(r.num))
  end
  assert(op.query_value("SELECT 9007199254740992") == 9007199254740992)
  assert(op.query_value("SELECT NULL") == nil)
  assert(op.query_value("SELECT 'x' WHERE 1 = 0") == nil)
  assert(op.query_value("SELECT $1 || $2", "a", 1) == "a1")
  assert(op.query_one("SELECT 1 WHERE 1 = 0") == nil)
  -- A loop that runs statements while it iterates, and a loop left early.
  op.execute("CREATE TABLE log (n int)")
  local sum = 0
  local series = "WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < 5000) SELECT g FROM s"
  for row in op.query(series) do
    sum = sum + row.g
    if row.g % 1000 == 0 then op.execute("INSERT INTO log VALUES ($1)", row.g) end
  end
  assert(sum == 12502500, sum)
  for row in op.query(series) do if row.g == 3 then break end end
  assert(op.query_value("SELECT count(*) FROM log") == 5)
  op.execute("CREATE TABLE seen (dialect text)")
  op.execute("INSERT INTO seen VALUES ($1)", context.dialect)
)lua",
              "");
  LM_OK(f, {"upgrade", "head"});
  CHECK(f.value("SELECT dialect FROM seen") == f.db.dialect());
}

TEST_CASE("ops: a failing revision leaves the database exactly at the previous revision, on both dialects",
          "[ops]") {
  DUAL_FIXTURE(f);
  f.migration("a1", std::nullopt, R"lua(
  op.create_table("t", { "id", op.types.integer, primary_key = true }, { "v", op.types.text })
  op.create_index("ix_t_v", "t", { "v" })
  op.execute("INSERT INTO t VALUES (1, 'one'), (2, 'two')")
)lua",
              R"lua(  op.drop_table("t"))lua");
  f.migration("b2", "a1", R"lua(
  op.execute("INSERT INTO t VALUES (3, 'three')")
  op.alter_column("t", "v", { nullable = false, default = "d" })
  op.add_column("t", { "w", op.types.integer })
  op.create_table("other", { "id", op.types.integer })
  op.drop_index("ix_t_v")
  op.rename_table("t", "t_renamed")
  error("stop here")
)lua",
              "");
  LM_OK(f, {"upgrade", "a1"});
  auto schema_before = f.db.is_sqlite()
                           ? f.column(
                                 "SELECT type || ' ' || name || ' ' || coalesce(sql, '') FROM sqlite_master "
                                 "ORDER BY name")
                           : f.column(
                                 "SELECT table_name || '.' || column_name || ' ' || is_nullable || ' ' || "
                                 "coalesce(column_default, '') FROM information_schema.columns WHERE "
                                 "table_schema = 'public' ORDER BY 1");
  auto r = f.lm({"upgrade", "head"});
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Contains("stop here"));
  CHECK(f.db.version_rows() == Strings{"a1"});
  CHECK(f.db.tables() == Strings{"alembic_version", "t"});
  CHECK(f.db.columns("t") == Strings{"id", "v"});
  CHECK(f.db.index_exists("ix_t_v"));
  CHECK(f.column("SELECT v FROM t ORDER BY id") == Strings{"one", "two"});
  auto schema_after = f.db.is_sqlite()
                          ? f.column(
                                "SELECT type || ' ' || name || ' ' || coalesce(sql, '') FROM sqlite_master "
                                "ORDER BY name")
                          : f.column(
                                "SELECT table_name || '.' || column_name || ' ' || is_nullable || ' ' || "
                                "coalesce(column_default, '') FROM information_schema.columns WHERE "
                                "table_schema = 'public' ORDER BY 1");
  CHECK(schema_after == schema_before);
  if (f.db.is_sqlite()) CHECK(f.value("PRAGMA integrity_check") == "ok");
  auto cur = f.lm({"current"});
  CHECK(cur.out == "a1\n");
}

TEST_CASE("ops: bulk_insert, copy_rows, batch_alter_table and table comments, on both dialects", "[ops]") {
  DUAL_FIXTURE(f);
  f.migration("a1", std::nullopt, R"lua(
  local T = op.types
  op.create_table("items", { "id", T.integer, primary_key = true }, { "name", T.text, nullable = false },
    { "qty", T.integer, nullable = false, default = 1 }, { "ok", T.boolean, default = false })
  assert(op.bulk_insert("items", {
    { id = 1, name = "a", qty = 5, ok = true },
    { id = 2, name = "b" },                       -- qty and ok take their defaults
    { id = 3, name = "c", ok = op.NULL },         -- an explicit NULL
    { id = 4, name = "back\\slash 'q'", qty = 2, ok = false },
  }) == 4)
  assert(op.copy_rows("items", { "id", "name", "ok" }, { { 5, "copied", true }, { 6, "tab\there", op.NULL } }) == 2)
  op.create_table_comment("items", "things to sell")
  op.batch_alter_table("items", function(batch)
    batch.add_column({ "price", T.numeric(10, 2) })
    batch.alter_column("qty", { nullable = true, default = op.NULL_DEFAULT })
    batch.create_index("ix_items_name", { "name" }, { unique = true })
    batch.create_check_constraint("ck_items_qty", "qty >= 0")
  end)
  op.drop_table_comment("items")
)lua",
              R"lua(  op.drop_table("items"))lua");
  LM_OK(f, {"upgrade", "head"});
  CHECK(f.db.columns("items") == Strings{"id", "name", "qty", "ok", "price"});
  CHECK(f.column("SELECT name FROM items ORDER BY id") ==
        Strings{"a", "b", "c", "back\\slash 'q'", "copied", "tab\there"});
  CHECK(f.column("SELECT qty FROM items ORDER BY id") == Strings{"5", "1", "1", "2", "1", "1"});
  // Booleans: true, the default false, NULL, false, true, NULL; counted the same way on both.
  CHECK(f.value("SELECT count(*) FROM items WHERE ok") == "2");
  CHECK(f.value("SELECT count(*) FROM items WHERE NOT ok") == "2");
  CHECK(f.value("SELECT count(*) FROM items WHERE ok IS NULL") == "2");
  CHECK(f.db.column("items", "qty").nullable);
  CHECK(f.db.column("items", "qty").default_expr.empty());
  CHECK(f.db.index_exists("ix_items_name"));
  CHECK_THROWS(f.db.exec("INSERT INTO items (id, name) VALUES (7, 'a')"));
  CHECK_THROWS(f.db.exec("INSERT INTO items (id, name, qty) VALUES (8, 'z', -1)"));
  if (f.db.is_postgresql())
    CHECK(f.value("SELECT obj_description('items'::regclass, 'pg_class')") == "<null>");
  LM_OK(f, {"downgrade", "base"});
  CHECK(f.db.tables() == Strings{"alembic_version"});
}
