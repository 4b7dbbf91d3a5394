// Which statements may run through a cursor, and which placeholders a statement uses: read with PostgreSQL's
// lexical rules, so that keywords inside literals, quoted names and comments never count.
#include "db/statement_shape.hpp"

#include <catch2/catch.hpp>

using luamig::db::parameter_count_message;
using luamig::db::statement_shape;

TEST_CASE("statement_shape: read-only queries may use a cursor", "[unit][sql]") {
  for (const char* sql : {
           "SELECT 1",
           "select * from t where a = $1",
           "  \n\t-- leading comment\n/* block /* nested */ comment */ SELECT 1",
           "VALUES (1), (2)",
           "TABLE t",
           "(SELECT 1) UNION (SELECT 2)",
           "((SELECT 1))",
           "WITH x AS (SELECT 1) SELECT * FROM x",
           "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 5) SELECT * FROM c",
           "SELECT 'insert into x; delete from y' AS a",
           "SELECT \"update\", \"delete\", \"into\" FROM t",
           "SELECT $$ UPDATE t SET a = 1 $$",
           "SELECT $body$ DELETE FROM t $body$ AS s",
           "SELECT E'it\\'s an update' AS s",
           "SELECT updated_at, inserted_by, deleted FROM t -- for update\n",
           "SELECT a /* FOR SHARE */ FROM t",
           "SELECT substring(name from 1 for 3) FROM t",
       }) {
    INFO(sql);
    CHECK(statement_shape(sql).cursor_allowed);
  }
}

TEST_CASE("statement_shape: other statements run as they are", "[unit][sql]") {
  for (const char* sql : {
           "SHOW lock_timeout",
           "  /* c */ show search_path",
           "EXPLAIN SELECT 1",
           "EXPLAIN (ANALYZE, FORMAT JSON) SELECT 1",
           "INSERT INTO t (a) VALUES (1) RETURNING id",
           "-- c\nUPDATE t SET a = 1 RETURNING a",
           "DELETE FROM t RETURNING *",
           "WITH ins AS (INSERT INTO t VALUES (1) RETURNING id) SELECT * FROM ins",
           "WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x RETURNING *",
           "WITH d AS (DELETE FROM t RETURNING *) SELECT count(*) FROM d",
           "WITH u AS (UPDATE t SET a = 2 RETURNING *) SELECT 1",
           "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE",
           "SELECT * FROM t FOR UPDATE",
           "SELECT * FROM t FOR NO KEY UPDATE SKIP LOCKED",
           "SELECT * FROM t FOR SHARE",
           "SELECT * FROM t FOR KEY SHARE",
           "SELECT a INTO TEMP b FROM t",
           "CALL p()",
           "PRAGMA user_version",
           "FETCH 10 FROM c",
           "'SELECT'",
           "",
           "-- only a comment",
       }) {
    INFO(sql);
    CHECK_FALSE(statement_shape(sql).cursor_allowed);
  }
}

TEST_CASE("statement_shape: placeholders outside literals and comments", "[unit][sql]") {
  CHECK(statement_shape("SELECT 1").max_placeholder == 0);
  CHECK(statement_shape("SELECT $1, $3, $2").max_placeholder == 3);
  CHECK(statement_shape("SELECT $12").max_placeholder == 12);
  CHECK(statement_shape("SELECT '$5', \"$6\", $$ $7 $$, $f$ $8 $f$ -- $9\n/* $10 */, $2").max_placeholder ==
        2);
  CHECK(statement_shape("SELECT a$1 FROM t").max_placeholder == 0);
}

TEST_CASE("statement_shape: transaction control", "[unit][sql]") {
  for (const char* sql : {"BEGIN", "commit", "SAVEPOINT a", "RELEASE SAVEPOINT a", "ROLLBACK TO SAVEPOINT a",
                          " -- c\n ROLLBACK", "START TRANSACTION", "END", "ABORT"})
    CHECK(statement_shape(sql).transaction_control);
  for (const char* sql : {"SELECT 1", "INSERT INTO savepoint VALUES (1)", "'BEGIN'"})
    CHECK_FALSE(statement_shape(sql).transaction_control);
}

TEST_CASE("parameter_count_message names both counts", "[unit][sql]") {
  CHECK(parameter_count_message(2, 1) ==
        "wrong number of bound parameters: the statement takes 2 parameters, 1 was given");
  CHECK(parameter_count_message(1, 3) ==
        "wrong number of bound parameters: the statement takes 1 parameter, 3 were given");
  CHECK(parameter_count_message(0, 1) ==
        "wrong number of bound parameters: the statement takes 0 parameters, 1 was given");
}
