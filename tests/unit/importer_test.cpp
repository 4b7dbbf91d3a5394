// The Alembic importer's pieces: the Python tokenizer and parser, the SQLAlchemy type mapping and the
// statement translator, on the shapes real revision files use.
#include <catch2/catch.hpp>
#include <string>

#include "importer/lua_text.hpp"
#include "importer/py_ast.hpp"
#include "importer/py_tokenizer.hpp"
#include "importer/translator.hpp"
#include "scripts/slug.hpp"

using namespace luamig::importer;
using Catch::Matchers::Contains;

namespace {

std::string lua_of(const std::string& python) {
  Translation t = translate_body_for_test(python);
  INFO(t.lua);
  REQUIRE(t.manual.empty());
  return t.lua;
}

std::string manual_of(const std::string& python) {
  Translation t = translate_body_for_test(python);
  INFO(t.lua);
  REQUIRE(t.manual.size() == 1);
  return t.manual[0].what;
}

std::string string_value(const std::string& expr) {
  auto e = parse_expression(expr);
  REQUIRE(e->kind == Expr::Str);
  return e->text;
}

}  // namespace

TEST_CASE("py tokenizer: every string quoting form", "[unit][import]") {
  CHECK(string_value("'a\\'b'") == "a'b");
  CHECK(string_value("\"tab\\there\"") == "tab\there");
  CHECK(string_value("r'\\d+\\.'") == "\\d+\\.");
  CHECK(string_value("R\"raw\\n\"") == "raw\\n");
  CHECK(string_value("'''one\ntwo'''") == "one\ntwo");
  CHECK(string_value("\"\"\"with \"quotes\" inside\"\"\"") == "with \"quotes\" inside");
  CHECK(string_value("u'caf\\u00e9'") == "caf\xc3\xa9");
  CHECK(string_value("'\\x41\\101'") == "AA");
  CHECK(string_value("'unknown \\d escape'") == "unknown \\d escape");
  CHECK(string_value("('implicit ' \"concat\"\n  'enation')") == "implicit concatenation");
  CHECK(string_value("'line \\\ncontinued'") == "line continued");
  auto f = parse_expression("f'x{y}'");
  CHECK(f->fstring);
  auto b = parse_expression("b'bytes'");
  CHECK(b->bytes);
}

TEST_CASE("py tokenizer: comments, continuations and blocks", "[unit][import]") {
  auto toks =
      tokenize("x = 1  # type: int\nif x:\n    y = (1,\n  2)  # inside\n\n    z = 3 \\\n      + 4\nw = 5\n");
  int indents = 0, dedents = 0, newlines = 0;
  for (const auto& t : toks) {
    if (t.kind == Tok::Indent) ++indents;
    if (t.kind == Tok::Dedent) ++dedents;
    if (t.kind == Tok::Newline) ++newlines;
    CHECK(t.text.find('#') == std::string::npos);
  }
  CHECK(indents == 1);
  CHECK(dedents == 1);
  CHECK(newlines == 5);
  CHECK_THROWS_AS(tokenize("x = 'open\n"), SyntaxError);
  CHECK_THROWS_AS(tokenize("s = '''never closed\n"), SyntaxError);
}

TEST_CASE("py parser: calls, keyword arguments, attribute chains and literals", "[unit][import]") {
  auto e = parse_expression(
      "sa.Column('id', sa.Integer(), sa.ForeignKey('u.id', ondelete='CASCADE'), nullable=False)");
  REQUIRE(e->kind == Expr::Call);
  CHECK(e->base->dotted() == "sa.Column");
  CHECK(e->items.size() == 3);
  REQUIRE(e->kwarg("nullable"));
  CHECK(e->kwarg("nullable")->kind == Expr::False);
  CHECK(e->items[2]->kwarg("ondelete")->text == "CASCADE");

  auto t = parse_expression("('a', 'b',)");
  CHECK(t->kind == Expr::Tuple);
  CHECK(t->items.size() == 2);
  auto one = parse_expression("('a',)");
  CHECK(one->kind == Expr::Tuple);
  auto paren = parse_expression("('a')");
  CHECK(paren->kind == Expr::Str);
  auto d = parse_expression("{'k': [1, -2.5, None, True], \"j\": {}}");
  REQUIRE(d->kind == Expr::Dict);
  CHECK(d->items.size() == 4);
  auto chain = parse_expression("op.get_context().autocommit_block()");
  CHECK(chain->kind == Expr::Call);
  CHECK(chain->base->text == "autocommit_block");
  // Lambdas, conditionals and comprehensions stand as opaque names.
  CHECK(parse_expression("[x for x in y if x]")->kind == Expr::List);
  CHECK(parse_expression("[x for x in y if x]")->items[0]->text == "<comprehension>");
  CHECK(parse_expression("{k: v for k, v in d.items()}")->text == "<comprehension>");
  CHECK(parse_expression("f(x for x in y)")->items[0]->text == "<comprehension>");
  CHECK(parse_expression("lambda a, b=1: a + b")->text == "<lambda>");
  CHECK(parse_expression("a if b else c")->text == "<conditional expression>");
  CHECK_THROWS_AS(parse_expression("a if b"), SyntaxError);
}

TEST_CASE("py parser: module structure, annotations, decorators and unknown statements", "[unit][import]") {
  auto stmts = parse_module(
      "\"\"\"doc\"\"\"\nfrom typing import Union\nrevision: str = 'abc'\ndown_revision: Union[str, None] = "
      "None\n"
      "@decorator\ndef helper():\n    pass\n\ndef upgrade() -> None:\n    for i in range(3):\n        pass\n"
      "    op.drop_table('t')\n");
  REQUIRE(stmts.size() == 6);
  CHECK(stmts[0].kind == Stmt::Docstring);
  CHECK(stmts[1].kind == Stmt::Import);
  CHECK(stmts[2].kind == Stmt::Assign);
  CHECK(stmts[2].value->text == "abc");
  CHECK(stmts[3].kind == Stmt::Assign);
  CHECK(stmts[3].value->kind == Expr::None);
  CHECK(stmts[4].kind == Stmt::Other);
  CHECK(stmts[4].line == 5);
  CHECK(stmts[4].end_line == 7);
  REQUIRE(stmts[5].kind == Stmt::Def);
  CHECK(stmts[5].name == "upgrade");
  REQUIRE(stmts[5].body.size() == 2);
  CHECK(stmts[5].body[0].kind == Stmt::Other);
  CHECK(stmts[5].body[0].keyword == "for");
  CHECK(stmts[5].body[0].line == 10);
  CHECK(stmts[5].body[0].end_line == 11);
  CHECK(stmts[5].body[1].kind == Stmt::ExprStmt);
}

TEST_CASE("lua text: quoting reads back exactly", "[unit][import]") {
  CHECK(lua_quote("it's \"x\"\\") == "\"it's \\\"x\\\"\\\\\"");
  CHECK(lua_quote("a\nb") == "[[a\nb]]");
  CHECK(lua_quote("a]]\nb]") == "[=[a]]\nb]]=]");
  CHECK(lua_quote("a]=]\nb") == "[[a]=]\nb]]");
  CHECK(lua_quote("a]]\nb") == "[=[a]]\nb]=]");
  CHECK(lua_quote("\nstarts") == "[[\n\nstarts]]");
  CHECK(lua_quote(std::string("nul\x01", 4)) == "\"nul\\001\"");
  CHECK(lua_key("name") == "name");
  CHECK(lua_key("end") == "[\"end\"]");
  CHECK(lua_key("two words") == "[\"two words\"]");
  CHECK(luamig::scripts::message_slug("Add users table!") == "add_users_table");
  CHECK(luamig::scripts::message_slug("empty message") == "empty_message");
}

TEST_CASE("translator: SQLAlchemy types as SQLAlchemy 1.4 renders them on PostgreSQL", "[unit][import]") {
  auto col = [](const std::string& type) {
    return lua_of("op.add_column('t', sa.Column('c', " + type + "))\n");
  };
  CHECK_THAT(col("sa.String(50)"), Contains("op.types.string(50)"));
  CHECK_THAT(col("sa.String(length=50)"), Contains("op.types.string(50)"));
  CHECK_THAT(col("sa.String()"), Contains("op.types.string }"));
  CHECK_THAT(col("sa.Unicode(20)"), Contains("op.types.string(20)"));
  CHECK_THAT(col("sa.Text"), Contains("op.types.text"));
  CHECK_THAT(col("sa.UnicodeText()"), Contains("op.types.text"));
  CHECK_THAT(col("sa.Integer"), Contains("op.types.integer"));
  CHECK_THAT(col("sa.BigInteger()"), Contains("op.types.bigint"));
  CHECK_THAT(col("sa.SmallInteger()"), Contains("op.types.smallint"));
  CHECK_THAT(col("sa.Boolean()"), Contains("op.types.boolean"));
  CHECK_THAT(col("sa.DateTime()"), Contains("op.types.timestamp }"));
  CHECK_THAT(col("sa.DateTime(timezone=True)"), Contains("op.types.timestamp{ timezone = true }"));
  CHECK_THAT(col("postgresql.TIMESTAMP(timezone=True)"), Contains("op.types.timestamp{ timezone = true }"));
  CHECK_THAT(col("postgresql.TIMESTAMP(timezone=True, precision=3)"),
             Contains("\"TIMESTAMP(3) WITH TIME ZONE\""));
  CHECK_THAT(col("sa.Date()"), Contains("op.types.date"));
  CHECK_THAT(col("sa.Time()"), Contains("\"TIME WITHOUT TIME ZONE\""));
  CHECK_THAT(col("sa.Interval()"), Contains("\"INTERVAL\""));
  CHECK_THAT(col("sa.Float()"), Contains("op.types.float"));
  CHECK_THAT(col("sa.Float(precision=24)"), Contains("\"FLOAT(24)\""));
  CHECK_THAT(col("sa.Numeric(10, 2)"), Contains("op.types.numeric(10, 2)"));
  CHECK_THAT(col("sa.Numeric(precision=8)"), Contains("\"NUMERIC(8)\""));
  CHECK_THAT(col("sa.LargeBinary()"), Contains("op.types.binary"));
  CHECK_THAT(col("sa.JSON()"), Contains("\"JSON\""));
  CHECK_THAT(col("postgresql.JSONB(astext_type=sa.Text())"), Contains("\"JSONB\""));
  CHECK_THAT(col("postgresql.UUID(as_uuid=True)"), Contains("op.types.uuid"));
  CHECK_THAT(col("postgresql.ARRAY(sa.String(length=30))"), Contains("\"VARCHAR(30)[]\""));
  CHECK_THAT(col("sa.ARRAY(sa.Integer(), dimensions=2)"), Contains("\"INTEGER[][]\""));
  CHECK_THAT(col("postgresql.INET()"), Contains("\"INET\""));
  CHECK_THAT(col("postgresql.DOUBLE_PRECISION()"), Contains("\"DOUBLE PRECISION\""));
  CHECK_THAT(col("sa.CHAR(2)"), Contains("\"CHAR(2)\""));
  CHECK_THAT(col("sqlmodel.sql.sqltypes.AutoString()"), Contains("op.types.string }"));
  CHECK_THAT(col("sa.Enum('a', 'b', name='kind', native_enum=False)"), Contains("op.types.string(1)"));
  CHECK_THAT(col("sa.Enum('a', 'b', name='Kind')"), Contains("\"\\\"Kind\\\"\""));
  CHECK_THAT(
      lua_of(
          "from sqlalchemy.dialects.postgresql import JSONB as J\nop.add_column('t', sa.Column('c', J))\n"),
      Contains("\"JSONB\""));
  CHECK_THAT(lua_of("from sqlalchemy import Column, String\nop.add_column('t', Column('c', String(9)))\n"),
             Contains("op.types.string(9)"));
  CHECK(manual_of("op.add_column('t', sa.Column('c', app.types.GUID()))\n") == "type app.types.GUID");
  CHECK(manual_of("op.add_column('t', sa.Column('c', sa.Enum(Color, name='color')))\n") ==
        "sa.Enum of a Python enum class");
  CHECK(manual_of("op.add_column('t', sa.Column('c', sa.String(50, collation='C')))\n") ==
        "sa.String(collation=...)");
}

TEST_CASE("translator: SERIAL where SQLAlchemy makes the column autoincrement", "[unit][import]") {
  auto table = [](const std::string& cols) { return lua_of("op.create_table('t', " + cols + ")\n"); };
  CHECK_THAT(table("sa.Column('id', sa.Integer(), nullable=False), sa.PrimaryKeyConstraint('id')"),
             Contains("{ \"id\", op.types.serial, nullable = false }"));
  CHECK_THAT(table("sa.Column('id', sa.BigInteger, primary_key=True)"),
             Contains("{ \"id\", op.types.bigserial, primary_key = true }"));
  CHECK_THAT(table("sa.Column('id', sa.SmallInteger, primary_key=True)"), Contains("\"SMALLSERIAL\""));
  CHECK_THAT(table("sa.Column('id', sa.Integer, primary_key=True, autoincrement=False)"),
             Contains("op.types.integer"));
  CHECK_THAT(table("sa.Column('id', sa.Integer, sa.ForeignKey('u.id'), primary_key=True)"),
             Contains("op.types.integer"));
  CHECK_THAT(
      table("sa.Column('a', sa.Integer, primary_key=True), sa.Column('b', sa.Integer, primary_key=True)"),
      !Contains("serial"));
  CHECK_THAT(table("sa.Column('id', sa.Integer, primary_key=True, server_default=sa.text('7'))"),
             !Contains("serial"));
  CHECK_THAT(
      table("sa.Column('id', sa.Integer, primary_key=True, autoincrement=True, server_default=sa.text('7'))"),
      Contains("op.types.serial"));
  CHECK_THAT(table("sa.Column('id', sa.Integer, primary_key=True, default=1)"), !Contains("serial"));
  CHECK_THAT(table("sa.Column('a', sa.Integer, primary_key=True, autoincrement=True), "
                   "sa.Column('b', sa.Integer, primary_key=True)"),
             Contains("{ \"a\", op.types.serial, primary_key = true }"));
  CHECK_THAT(table("sa.Column('id', sa.String(8), primary_key=True)"), Contains("op.types.string(8)"));
  CHECK_THAT(table("sa.Column('id', sa.BigInteger, sa.Identity(always=True), primary_key=True)"),
             Contains("op.types.bigint, primary_key = true, identity = \"always\""));
}

TEST_CASE("translator: create_table with constraints, defaults, comments and enums", "[unit][import]") {
  std::string lua = lua_of(R"(op.create_table(
    "post",
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("author_id", sa.Integer, sa.ForeignKey("app.user.id", ondelete="CASCADE"), nullable=False),
    sa.Column("state", sa.Enum("draft", "live", name="post_state"), server_default="draft"),
    sa.Column("created", sa.DateTime(timezone=True), server_default=sa.func.now()),
    sa.Column("stamp", sa.DateTime(), server_default=sa.func.current_timestamp()),
    sa.Column("flag", sa.Boolean(), server_default=sa.true(), default=False, onupdate=None),
    sa.Column("slug", sa.String(80), unique=True, index=True, comment="URL part"),
    sa.Column("n", sa.Integer, sa.CheckConstraint("n > 0")),
    sa.UniqueConstraint("author_id", "slug", name="uq_post_author_slug"),
    sa.CheckConstraint("char_length(slug) > 2"),
    sa.ForeignKeyConstraint(["author_id"], ["app.user.id"], name="fk_named", deferrable=True, initially="DEFERRED"),
    schema="blog",
    comment="posts",
    mysql_engine="InnoDB",
)
)");
  CHECK_THAT(lua, Contains("op.execute(\"CREATE TYPE post_state AS ENUM ('draft', 'live')\")"));
  CHECK_THAT(lua, Contains("{ \"author_id\", op.types.integer, nullable = false, references = "
                           "\"app.user(id)\", ondelete = \"CASCADE\" }"));
  CHECK_THAT(lua, Contains("{ \"state\", \"post_state\", server_default = \"draft\" }"));
  CHECK_THAT(lua, Contains("server_default = op.text(\"now()\")"));
  CHECK_THAT(lua, Contains("server_default = op.text(\"CURRENT_TIMESTAMP\")"));
  CHECK_THAT(lua, Contains("server_default = op.text(\"true\")"));
  CHECK_THAT(lua, Contains("unique = true, index = true, comment = \"URL part\""));
  CHECK_THAT(lua, Contains("check = \"n > 0\""));
  CHECK_THAT(lua, Contains("op.unique({ \"author_id\", \"slug\" }, \"uq_post_author_slug\")"));
  CHECK_THAT(lua, Contains("op.check(\"char_length(slug) > 2\")"));
  CHECK_THAT(lua, Contains("op.foreign_key({ \"author_id\" }, \"user\", { \"id\" }, { name = \"fk_named\", "
                           "deferrable = true, initially = \"DEFERRED\", referent_schema = \"app\" })"));
  CHECK_THAT(lua, Contains("{ schema = \"blog\", comment = \"posts\" }"));
  CHECK(manual_of(
            "op.create_table('t', sa.Column('id', sa.Integer), postgresql_partition_by='RANGE (id)')\n") ==
        "op.create_table(postgresql_partition_by=...)");
  CHECK(manual_of("op.create_table('t', *columns)\n") == "op.create_table(*columns)");
}

TEST_CASE("translator: alter_column, indexes, constraints and renames", "[unit][import]") {
  CHECK(
      lua_of("op.alter_column('u', 'name', existing_type=sa.String(10), type_=sa.String(40), nullable=False, "
             "postgresql_using='name::varchar(40)', server_default=None, new_column_name='full_name', "
             "comment=None, "
             "schema='s')\n") ==
      "op.alter_column(\"u\", \"name\", { type = op.types.string(40), using = \"name::varchar(40)\", "
      "nullable = "
      "false, server_default = op.NULL_DEFAULT, new_name = \"full_name\", comment = false, schema = \"s\" "
      "})\n");
  CHECK_THAT(lua_of("op.alter_column('u', 'x', existing_type=sa.Integer(), existing_nullable=True)\n"),
             Contains("nothing changes"));
  CHECK(
      lua_of("op.create_index(op.f('ix_u_e'), 'u', ['e'], unique=True, postgresql_using='btree', "
             "postgresql_where=sa.text('e IS NOT NULL'), postgresql_include=['id'], if_not_exists=True)\n") ==
      "op.create_index(\"ix_u_e\", \"u\", { \"e\" }, { unique = true, using = \"btree\", where = \"e IS NOT "
      "NULL\", "
      "include = { \"id\" }, if_not_exists = true })\n");
  CHECK(lua_of("op.create_index('ix_lower', 'u', [sa.text('lower(e)')])\n") ==
        "op.create_index(\"ix_lower\", \"u\", { op.text(\"lower(e)\") })\n");
  CHECK(lua_of("op.drop_index('ix', table_name='u', postgresql_concurrently=True, if_exists=True)\n") ==
        "op.drop_index(\"ix\", \"u\", { if_exists = true, concurrently = true })\n");
  CHECK(lua_of("op.drop_index('ix')\n") == "op.drop_index(\"ix\")\n");
  CHECK(lua_of("op.create_foreign_key(None, 'a', 'b', ['b_id'], ['id'], ondelete='CASCADE', "
               "source_schema='s')\n") ==
        "op.create_foreign_key(nil, \"a\", \"b\", { \"b_id\" }, { \"id\" }, { ondelete = \"CASCADE\", "
        "source_schema = \"s\" })\n");
  CHECK(lua_of("op.create_unique_constraint('uq', 'a', ['x', 'y'])\n") ==
        "op.create_unique_constraint(\"uq\", \"a\", { \"x\", \"y\" })\n");
  CHECK(lua_of("op.create_primary_key('pk', 'a', ['id'])\n") ==
        "op.create_primary_key(\"pk\", \"a\", { \"id\" })\n");
  CHECK(lua_of("op.create_check_constraint('ck', 'a', sa.text('x > 0'))\n") ==
        "op.create_check_constraint(\"ck\", \"a\", \"x > 0\")\n");
  CHECK(lua_of("op.drop_constraint('ck', 'a', type_='check')\n") == "op.drop_constraint(\"ck\", \"a\")\n");
  CHECK(lua_of("op.rename_table('a', 'b')\n") == "op.rename_table(\"a\", \"b\")\n");
  CHECK(lua_of("op.drop_column('a', 'b', schema='s')\n") ==
        "op.drop_column(\"a\", \"b\", { schema = \"s\" })\n");
  CHECK(lua_of("op.drop_table('a')\n") == "op.drop_table(\"a\")\n");
  CHECK(lua_of("op.create_table_comment('a', 'hello', existing_comment=None)\n") ==
        "op.create_table_comment(\"a\", \"hello\")\n");
  CHECK(lua_of("op.create_index('i', 't', ['a', 'B'], postgresql_ops={'B': 'text_pattern_ops'})\n") ==
        "op.create_index(\"i\", \"t\", { \"a\", op.text(\"\\\"B\\\" text_pattern_ops\") })\n");
  CHECK(manual_of("op.create_index('i', 't', ['a'], postgresql_ops={'b': 'text_pattern_ops'})\n") ==
        "postgresql_ops for a column the index does not have: b");
  // A Python-side default is not DDL: a lambda there does not matter.
  CHECK(lua_of("op.add_column('t', sa.Column('id', sa.String(36), default=lambda: str(uuid.uuid4())))\n") ==
        "op.add_column(\"t\", { \"id\", op.types.string(36) })\n");
  CHECK(manual_of("op.bulk_insert(t, [{'a': i} for i in range(3)])\n") == "op.bulk_insert into name t");
  CHECK(manual_of("op.execute('a' if x else 'b')\n") ==
        "op.execute of conditional expression (an SQLAlchemy expression, not SQL text)");
  CHECK(lua_of("op.add_column('a', sa.Column('b_id', sa.Integer(), sa.ForeignKey('s.b.id', name='fk_a_b', "
               "ondelete='CASCADE'), sa.CheckConstraint('b_id > 0', name='ck_b')), schema='t')\n") ==
        "op.add_column(\"a\", { \"b_id\", op.types.integer }, { schema = \"t\" })\n"
        "op.create_foreign_key(\"fk_a_b\", \"a\", \"b\", { \"b_id\" }, { \"id\" }, { ondelete = \"CASCADE\", "
        "referent_schema = \"s\", source_schema = \"t\" })\n"
        "op.create_check_constraint(\"ck_b\", \"a\", \"b_id > 0\", { schema = \"t\" })\n");
  CHECK(manual_of("x += 1\n") ==
        "a statement outside the Python the importer reads (augmented assignment, starred target, ...)");
  CHECK_THAT(lua_of("import sqlalchemy_utils\nop.add_column('t', sa.Column('u', "
                    "sqlalchemy_utils.types.uuid.UUIDType(binary=False)))\n"),
             Contains("op.types.uuid"));
}

TEST_CASE("translator: SQL execution, bind parameters, bulk inserts and connections", "[unit][import]") {
  CHECK(lua_of("op.execute('UPDATE t SET a = 1')\n") == "op.execute(\"UPDATE t SET a = 1\")\n");
  CHECK(lua_of("op.execute(sa.text(\"SELECT '10:30'::time, x\\\\:y\"))\n") ==
        "op.execute(\"SELECT '10:30'::time, x:y\")\n");
  CHECK(lua_of("op.execute(\"\"\"\n    CREATE VIEW v AS\n    SELECT 1\n\"\"\")\n") ==
        "op.execute([[\n\n    CREATE VIEW v AS\n    SELECT 1\n]])\n");
  CHECK(lua_of("conn = op.get_bind()\nconn.execute(sa.text('UPDATE t SET a = :a WHERE b = :b OR c = :a'), "
               "{'a': 1, 'b': None})\n") ==
        "op.execute(\"UPDATE t SET a = $1 WHERE b = $2 OR c = $1\", 1, op.NULL)\n");
  CHECK(lua_of("from sqlalchemy import text\nop.get_bind().execute(text('DELETE FROM t WHERE x = :x'), "
               "x='y')\n") == "op.execute(\"DELETE FROM t WHERE x = $1\", \"y\")\n");
  CHECK(lua_of("bind = op.get_context().bind\nbind.execute('VACUUM')\n") == "op.execute(\"VACUUM\")\n");
  CHECK(lua_of("t = sa.table('role', sa.column('id', sa.Integer), sa.column('name', sa.String))\n"
               "op.bulk_insert(t, [{'id': 1, 'name': 'a'}, {'id': 2, 'name': None}])\n") ==
        "op.bulk_insert(\"role\", { { id = 1, name = \"a\" }, { id = 2, name = op.NULL } })\n");
  CHECK(lua_of("op.bulk_insert(sa.table('r', sa.column('x'), schema='s'), [{'x': -1.5}])\n") ==
        "op.bulk_insert(\"r\", { { x = -1.5 } }, { schema = \"s\" })\n");
  CHECK(manual_of("op.execute(f\"DROP TABLE {name}\")\n") == "f-string");
  CHECK(manual_of("op.execute('UPDATE t SET a = %s' % value)\n") == "string formatting with %");
  CHECK(manual_of("op.execute(users.update().values(a=1))\n") ==
        "op.execute of call to .values() (an SQLAlchemy expression, not SQL text)");
  CHECK(manual_of("conn = op.get_bind()\nrows = conn.execute(sa.text('SELECT 1')).fetchall()\n") ==
        "assignment of call to .fetchall() to rows");
  CHECK(manual_of("op.get_bind().execute(sa.text('UPDATE t SET a = :missing'))\n") ==
        "bind parameter :missing without a value");
}

TEST_CASE("translator: batch blocks, autocommit blocks, enums and variables", "[unit][import]") {
  CHECK(lua_of("with op.batch_alter_table('u', schema=None) as batch_op:\n"
               "    batch_op.add_column(sa.Column('a', sa.Integer(), nullable=True))\n"
               "    batch_op.alter_column('b', existing_type=sa.INTEGER(), nullable=False)\n"
               "    batch_op.create_index(batch_op.f('ix_u_a'), ['a'], unique=False)\n"
               "    batch_op.drop_constraint('fk', type_='foreignkey')\n"
               "    batch_op.create_foreign_key('fk2', 'v', ['a'], ['id'], ondelete='SET NULL')\n"
               "    batch_op.drop_column('c')\n") ==
        "op.batch_alter_table(\"u\", function(batch_op)\n"
        "  batch_op.add_column({ \"a\", op.types.integer, nullable = true })\n"
        "  batch_op.alter_column(\"b\", { nullable = false })\n"
        "  batch_op.create_index(\"ix_u_a\", { \"a\" })\n"
        "  batch_op.drop_constraint(\"fk\")\n"
        "  batch_op.create_foreign_key(\"fk2\", \"v\", { \"a\" }, { \"id\" }, { ondelete = \"SET NULL\" })\n"
        "  batch_op.drop_column(\"c\")\n"
        "end)\n");
  CHECK(lua_of("with op.get_context().autocommit_block():\n"
               "    op.create_index('ix', 't', ['a'], postgresql_concurrently=True)\n") ==
        "op.autocommit_block(function()\n  op.create_index(\"ix\", \"t\", { \"a\" }, { concurrently = true "
        "})\nend)\n");
  CHECK(
      lua_of("e = postgresql.ENUM('a', 'b', name='mood')\ne.create(op.get_bind())\n") ==
      "op.execute(\"DO $luamig$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_type t JOIN pg_namespace n ON n.oid = "
      "t.typnamespace WHERE t.typname = 'mood' AND pg_type_is_visible(t.oid)) THEN CREATE TYPE mood AS ENUM "
      "('a', "
      "'b'); END IF; END $luamig$\")\n");
  CHECK(lua_of("sa.Enum(name='mood').drop(op.get_bind(), checkfirst=True)\n") ==
        "op.execute(\"DROP TYPE IF EXISTS mood\")\n");
  CHECK(lua_of("sa.Enum('a', name='mood').create(bind=op.get_bind(), checkfirst=False)\n") ==
        "op.execute(\"CREATE TYPE mood AS ENUM ('a')\")\n");
  // A type shared through a variable with create_type=False is not created by create_table.
  CHECK(lua_of("mood = postgresql.ENUM('a', name='mood', create_type=False)\n"
               "op.create_table('t', sa.Column('m', mood))\n") ==
        "op.create_table(\"t\",\n  { \"m\", \"mood\" }\n)\n");
  CHECK(lua_of("TABLE = 'accounts'\nCOL = 'e' + 'mail'\nop.drop_column(TABLE, COL)\n") ==
        "op.drop_column(\"accounts\", \"email\")\n");
  CHECK(lua_of("pass\n\"\"\"A note.\"\"\"\n") == "-- A note.\n");
}

TEST_CASE("translator: conditions on the dialect become Lua conditionals", "[unit][import]") {
  CHECK(lua_of("if op.get_bind().dialect.name == 'postgresql':\n    op.execute('A')\n"
               "elif 'sqlite' == op.get_context().dialect.name:\n    pass\nelse:\n    op.execute('C')\n") ==
        "if op.dialect == \"postgresql\" then\n  op.execute(\"A\")\nelseif op.dialect == \"sqlite\" "
        "then\nelse\n"
        "  op.execute(\"C\")\nend\n");
  CHECK(
      lua_of(
          "conn = op.get_bind()\nif not conn.dialect.name != 'mysql' and conn.dialect.name == 'postgresql':\n"
          "    op.drop_table('t')\n") ==
      "if (not (op.dialect ~= \"mysql\") and op.dialect == \"postgresql\") then\n  "
      "op.drop_table(\"t\")\nend\n");
  // Inside a translated branch, what cannot be translated is marked on its own.
  Translation t = translate_body_for_test(
      "if op.get_bind().dialect.name == 'postgresql':\n    for x in y:\n"
      "        pass\n");
  REQUIRE(t.manual.size() == 1);
  CHECK(t.manual[0].line == 2);
  CHECK(manual_of("if has_table('x'):\n    op.drop_table('x')\nelse:\n    pass\n") == "if statement");
}

TEST_CASE("translator: what is not translated is marked with its lines", "[unit][import]") {
  Translation t = translate_body_for_test(
      "op.drop_table('a')\nfor x in range(3):\n    op.execute('SELECT 1')\nif a:\n    pass\nelif b:\n    "
      "pass\n"
      "else:\n    pass\ntry:\n    x()\nexcept Exception:\n    raise\nsession.commit()\ndef inner():\n    "
      "pass\n"
      "from app.models import User\nx, y = 1, 2\nreturn\n");
  REQUIRE(t.manual.size() == 8);
  CHECK(t.manual[0].what == "for statement");
  CHECK(t.manual[0].line == 2);
  CHECK(t.manual[0].end_line == 3);
  CHECK(t.manual[1].what == "if statement");
  CHECK(t.manual[1].line == 4);
  CHECK(t.manual[1].end_line == 9);
  CHECK(t.manual[2].what == "try statement");
  CHECK(t.manual[2].end_line == 13);
  CHECK(t.manual[3].what == "call to session.commit()");
  CHECK(t.manual[4].what == "nested function inner()");
  CHECK(t.manual[5].what == "import of app.models.User");
  CHECK(t.manual[6].what == "assignment to several names");
  CHECK(t.manual[7].what == "return statement");
  CHECK_THAT(
      t.lua,
      Contains("op.drop_table(\"a\")\n-- manual port needed (Python lines 2-3):\n-- | for x in range(3):\n"
               "-- |     op.execute('SELECT 1')\nerror(\"manual port needed: for statement (line 2)\")\n"));
}

TEST_CASE("translator: revision header and message", "[unit][import]") {
  Translation t = translate_revision(
      "\"\"\"Add the thing\n\nRevision ID: abc\nRevises: x, y\nCreate Date: 2024-01-02 "
      "03:04:05.000006\n\n\"\"\"\n"
      "from typing import Sequence, Union\nrevision: str = \"abc\"\n"
      "down_revision: Union[str, Sequence[str], None] = ('x', 'y')\nbranch_labels = ('one', 'two')\n"
      "depends_on = 'z'\n\ndef upgrade():\n    pass\n\n\ndef downgrade():\n    pass\n",
      "abc_add_the_thing.py");
  CHECK(t.revision == "abc");
  CHECK(t.message == "Add the thing");
  CHECK(t.create_date == "2024-01-02 03:04:05.000006");
  CHECK(t.down_revisions == std::vector<std::string>{"x", "y"});
  CHECK_THAT(t.lua, Contains("-- Add the thing\n--\n-- Revision ID: abc\n-- Revises: x, y\n"));
  CHECK_THAT(t.lua, Contains("down_revision = { \"x\", \"y\" }\nbranch_labels = { \"one\", \"two\" }\n"
                             "depends_on = \"z\"\n"));
  CHECK_THAT(t.lua, Contains("function upgrade()\nend\n"));
  CHECK(t.manual.empty());

  Translation multi = translate_revision(
      "revision = 'r'\ndown_revision = None\n\ndef upgrade(engine_name):\n"
      "    globals()['upgrade_%s' % engine_name]()\n",
      "r.py");
  REQUIRE(multi.manual.size() == 1);
  CHECK_THROWS_AS(translate_revision("down_revision = None\n", "x.py"), ImportError);

  // A file the parser refuses still joins the graph; its functions are one manual part.
  Translation odd = translate_revision(
      "\"\"\"odd one\"\"\"\nrevision = 'r1'\ndown_revision = ('a',\n    'b')\ndef upgrade():\n        x = 1\n"
      "    y = 2\n",
      "r1.py");
  CHECK(odd.revision == "r1");
  CHECK(odd.message == "odd one");
  CHECK(odd.down_revisions == std::vector<std::string>{"a", "b"});
  REQUIRE(odd.manual.size() == 1);
  CHECK(odd.manual[0].line == 1);
  CHECK(odd.manual[0].end_line == 7);
  CHECK_THAT(odd.manual[0].what, Contains("unindent does not match any outer indentation level at line 7"));
  CHECK_THAT(odd.lua, Contains("function downgrade()\n  error(\"manual port needed: the file is outside"));
  CHECK_THROWS_AS(translate_revision("revision = compute()\n", "x.py"), ImportError);
}
