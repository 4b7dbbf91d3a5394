// The op API on a real PostgreSQL: every operation checked through pg_catalog / information_schema, and its
// downgrade.
#include "integration/ops_support.hpp"

using namespace luamig::test;
using namespace luamig::test::ops;
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
  Fixture f;
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
  CHECK(f.value("SELECT count(*) FROM pg_indexes WHERE indexname = 'ix \"q'") == "1");
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
  Fixture f;
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
  Fixture f;
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
  Fixture f;
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
  Fixture f;
  f.migration("a1", std::nullopt, R"lua(  op.create_table("t", { "id", "int" }))lua",
              R"lua(  op.drop_table("t"))lua");
  f.migration("b2", "a1", R"lua(
  assert(not op.in_transaction())
  op.execute("CREATE INDEX CONCURRENTLY ix_t_id ON t (id)")
  op.transaction(function()
    assert(op.in_transaction())
    op.execute("INSERT INTO t VALUES (1)")
  end)
)lua",
              R"lua(  op.drop_index("ix_t_id", { concurrently = true }))lua", "transactional = false");
  f.migration("c3", "b2", R"lua(
  op.execute("CREATE TABLE c3_done (id int)")
  op.execute("SELECT 1/0")
)lua",
              "", "transactional = false");
  auto r = f.lm({"upgrade", "head"});
  CHECK(r.status == 1);
  CHECK_THAT(r.out, Contains("Running upgrade a1 -> b2"));
  CHECK_THAT(r.err,
             Contains("it declares `transactional = false`, so the statements it ran before the failure were "
                      "committed and stay; the version table was not updated"));
  CHECK(f.db.version_rows() == Strings{"b2"});
  CHECK(f.value("SELECT count(*) FROM pg_indexes WHERE indexname = 'ix_t_id'") == "1");
  CHECK(f.value("SELECT count(*) FROM t") == "1");
  CHECK(f.db.table_exists("c3_done"));
  LM_OK(f, {"downgrade", "a1"});
  CHECK(f.value("SELECT count(*) FROM pg_indexes WHERE indexname = 'ix_t_id'") == "0");

  f.migration("c3", "b2", "", "", "transactional = 'no'");
  r = f.lm({"upgrade", "head"});
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Contains("c3_msg.lua: `transactional` must be true or false, got a string"));
}

TEST_CASE("ops: op.query rows cannot be read after their transaction ended", "[ops]") {
  Fixture f;
  f.migration("a1", std::nullopt, R"lua(
  op.transaction(function() it = op.query("SELECT g FROM generate_series(1, 10000) g") end)
  local first = it()
  it()
)lua",
              "", "transactional = false");
  auto r = f.lm({"upgrade", "head"});
  INFO(r.describe());
  CHECK(r.status == 0);  // rows fetched before the COMMIT (the first 2000) are still there
  f.migration("a1", std::nullopt, R"lua(
  op.transaction(function() it = op.query("SELECT g FROM generate_series(1, 10000) g") end)
  for i = 1, 3000 do it() end
)lua",
              "", "transactional = false");
  f.db.exec("DROP TABLE alembic_version");
  r = f.lm({"upgrade", "head"});
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Contains("this query's rows can no longer be read: its transaction has ended"));
}

TEST_CASE(
    "ops: with transaction_per_migration = false, a transactional = false step commits what came before it",
    "[ops]") {
  Fixture f;
  f.proj.write_config("url = \"" + f.db.url() + "\"\ntransaction_per_migration = false");
  f.migration("a1", std::nullopt, R"lua(  op.create_table("t", { "id", "int" }))lua", "");
  f.migration("b2", "a1", R"lua(  op.create_index("ix_t", "t", { "id" }, { concurrently = true }))lua", "",
              "transactional = false");
  f.migration("c3", "b2", R"lua(
  op.create_table("c3_table", { "id", "int" })
  op.execute("SELECT 1/0")
)lua",
              "");
  auto r = f.lm({"upgrade", "head"});
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Contains("The database is at b2: 2 of 3 steps applied."));
  CHECK(f.db.version_rows() == Strings{"b2"});
  CHECK(f.db.table_exists("t"));
  CHECK_FALSE(f.db.table_exists("c3_table"));
}
