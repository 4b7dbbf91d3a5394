#include "lint/finding.hpp"

namespace luamig::lint {

const char* severity_name(Severity s) { return s == Severity::error ? "error" : "warning"; }

std::optional<Severity> parse_severity(std::string_view s) {
  if (s == "warning") return Severity::warning;
  if (s == "error") return Severity::error;
  return std::nullopt;
}

const std::vector<RuleInfo>& rules() {
  using S = Severity;
  static const std::vector<RuleInfo> all = {
      {"require-concurrent-index-creation", S::error,
       "CREATE INDEX without CONCURRENTLY on a table created before this revision",
       "SHARE lock on the table for the whole index build: INSERT, UPDATE and DELETE wait",
       "op.create_index(\"ix_users_email\", \"users\", { \"email\" })",
       "op.autocommit_block(function()\n  op.create_index(\"ix_users_email\", \"users\", { \"email\" }, "
       "{ concurrently = true })\nend)"},
      {"ban-concurrent-index-creation-in-transaction", S::error,
       "CREATE/DROP INDEX CONCURRENTLY inside the revision's transaction",
       "fails at once: CONCURRENTLY cannot run inside a transaction block (SQLSTATE 25001)",
       "op.create_index(\"ix_users_email\", \"users\", { \"email\" }, { concurrently = true })",
       "op.autocommit_block(function()\n  op.create_index(\"ix_users_email\", \"users\", { \"email\" }, "
       "{ concurrently = true })\nend)"},
      {"require-concurrent-index-deletion", S::warning, "DROP INDEX without CONCURRENTLY",
       "ACCESS EXCLUSIVE lock on the index's table while the index is dropped",
       "op.drop_index(\"ix_users_email\")",
       "op.autocommit_block(function()\n  op.drop_index(\"ix_users_email\", { concurrently = true })\nend)"},
      {"adding-required-field", S::error, "ADD COLUMN ... NOT NULL without a default on an existing table",
       "fails on a table with rows (SQLSTATE 23502: column contains null values)",
       "op.add_column(\"users\", { \"age\", \"integer\", nullable = false })",
       "op.add_column(\"users\", { \"age\", \"integer\", nullable = false, server_default = \"0\" })"},
      {"adding-volatile-default", S::warning,
       "ADD COLUMN with a volatile default (random(), gen_random_uuid(), clock_timestamp(), serial, "
       "identity, "
       "stored generated column), or any default before PostgreSQL 11",
       "rewrites the whole table under ACCESS EXCLUSIVE: reads and writes wait until it is done",
       "op.add_column(\"users\", { \"token\", \"uuid\", server_default = op.text(\"gen_random_uuid()\") })",
       "-- revision 1: add the column nullable, no default; revision 2: default for new rows and a batched "
       "backfill; revision 3: NOT NULL via a validated CHECK"},
      {"changing-column-type", S::error, "ALTER COLUMN ... TYPE that rewrites the table",
       "rewrites the table and rebuilds its indexes under ACCESS EXCLUSIVE: reads and writes wait",
       "op.alter_column(\"users\", \"age\", { type = \"bigint\", existing_type = \"integer\" })",
       "-- expand/backfill/contract: add the new column, backfill in batches, switch readers, drop the old "
       "one"},
      {"setting-not-nullable-field", S::error,
       "SET NOT NULL on an existing table without a validated CHECK (col IS NOT NULL) from an earlier "
       "revision",
       "scans the whole table under ACCESS EXCLUSIVE: reads and writes wait",
       "op.alter_column(\"users\", \"email\", { nullable = false })",
       "-- revision 1: op.create_check_constraint(\"users_email_not_null\", \"users\", \"email IS NOT "
       "NULL\", "
       "{ not_valid = true })\n-- revision 2: VALIDATE CONSTRAINT; revision 3: SET NOT NULL, drop the check"},
      {"adding-foreign-key-constraint", S::error, "ADD FOREIGN KEY without NOT VALID on an existing table",
       "SHARE ROW EXCLUSIVE on both tables while every row is checked: writes to both wait",
       "op.create_foreign_key(\"fk_orders_user\", \"orders\", \"users\", { \"user_id\" }, { \"id\" })",
       "op.create_foreign_key(\"fk_orders_user\", \"orders\", \"users\", { \"user_id\" }, { \"id\" }, "
       "{ not_valid = true })\n-- next revision: op.execute(\"ALTER TABLE orders VALIDATE CONSTRAINT "
       "fk_orders_user\")"},
      {"constraint-missing-not-valid", S::error, "ADD CHECK without NOT VALID on an existing table",
       "ACCESS EXCLUSIVE while every row is checked: reads and writes wait",
       "op.create_check_constraint(\"ck_users_age\", \"users\", \"age >= 0\")",
       "op.create_check_constraint(\"ck_users_age\", \"users\", \"age >= 0\", { not_valid = true })\n-- next "
       "revision: op.execute(\"ALTER TABLE users VALIDATE CONSTRAINT ck_users_age\")"},
      {"disallowed-unique-constraint", S::error,
       "ADD UNIQUE / PRIMARY KEY on an existing table without USING INDEX of an index built concurrently",
       "builds the unique index under ACCESS EXCLUSIVE: reads and writes wait for the whole build",
       "op.create_unique_constraint(\"uq_users_email\", \"users\", { \"email\" })",
       "op.autocommit_block(function()\n  op.create_index(\"uq_users_email\", \"users\", { \"email\" }, "
       "{ unique = true, concurrently = true })\nend)\nop.execute(\"ALTER TABLE users ADD CONSTRAINT "
       "uq_users_email "
       "UNIQUE USING INDEX uq_users_email\")"},
      {"renaming-column", S::warning, "RENAME COLUMN on an existing table",
       "breaks the running application, which still uses the old name, until the next deploy",
       "op.alter_column(\"users\", \"name\", { new_name = \"full_name\" })",
       "-- expand/contract over deploys: add full_name, write both, backfill, read the new one, drop name"},
      {"renaming-table", S::warning, "RENAME TABLE of an existing table",
       "breaks the running application, which still uses the old name, until the next deploy",
       "op.rename_table(\"users\", \"accounts\")",
       "-- create accounts (or a view users over it), write both, switch readers, then drop the old table"},
      {"ban-drop-column", S::warning, "DROP COLUMN on an existing table",
       "breaks running code that still reads or writes the column until the next deploy",
       "op.drop_column(\"users\", \"legacy\")",
       "-- deploy code that no longer uses the column first, then drop it in a later revision"},
      {"ban-drop-table", S::warning, "DROP TABLE of an existing table",
       "breaks running code that still uses the table; the data is gone", "op.drop_table(\"legacy\")",
       "-- deploy code that no longer uses the table first, then drop it in a later revision"},
      {"mixed-autocommit-ddl", S::warning,
       "autocommit work (transactional = false, op.autocommit_block) mixed with other DDL in one revision",
       "a failure half-way leaves the committed part behind with the version table not updated; rerunning "
       "fails",
       "transactional = false\nfunction upgrade()\n  op.add_column(...)\n  op.create_index(..., { "
       "concurrently = "
       "true })\nend",
       "-- one revision for the transactional DDL, another with only the autocommit_block"},
      {"ddl-with-backfill", S::warning,
       "DDL and a backfill (UPDATE/DELETE/INSERT ... SELECT) in one transaction",
       "the DDL's ACCESS EXCLUSIVE lock is held until the backfill commits: reads and writes wait for all of "
       "it",
       "op.add_column(\"users\", { \"domain\", \"text\" })\nop.execute(\"UPDATE users SET domain = "
       "split_part(email, '@', 2)\")",
       "-- revision 1: the DDL; revision 2 (transactional = false): the backfill in batches with "
       "luamig.backfill"},
      {"require-lock-timeout", S::warning,
       "a revision that takes ACCESS EXCLUSIVE on an existing table with no lock_timeout in force",
       "waiting for the lock queues every later query on the table behind it: an outage while it waits",
       "op.add_column(\"users\", { \"age\", \"integer\" })",
       "-- luamig.lua: lock_timeout = \"5s\" (with lock_retries), or first in upgrade():\nop.execute(\"SET "
       "LOCAL "
       "lock_timeout = '5s'\")"},
      {"revision-id-too-long", S::error, "a revision id over 32 characters",
       "does not fit Alembic's version_num varchar(32): the version table update fails",
       "revision = \"add_the_email_column_to_users_table\"", "revision = \"a1b2c3d4e5f6\""},
      {"multiple-heads", S::error, "more than one head in the revision graph",
       "`upgrade head` refuses to run; deploys stop", "-- two revisions with the same down_revision",
       "luamig merge heads -m \"merge\""},
      {"missing-downgrade", S::warning, "downgrade() missing or empty in a revision with DDL",
       "the revision cannot be rolled back: `downgrade` does nothing or fails", "function downgrade() end",
       "function downgrade()\n  op.drop_column(\"users\", \"age\")\nend"},
      {"lint-incomplete", S::warning, "a revision whose upgrade() cannot run offline past some line",
       "the ops after that line were not linted (luamig.backfill and query results need a live database)",
       "backfill.update{ table = \"users\", ... }",
       "-- keep backfills and queries in revisions of their own, after the DDL"},
      {"sql-syntax-error", S::error, "SQL in op.execute that PostgreSQL's parser rejects",
       "the revision fails when it runs", "op.execute(\"ALTER TABLE users ADD COLUMN\")",
       "op.execute(\"ALTER TABLE users ADD COLUMN age integer\")"},
  };
  return all;
}

const RuleInfo* find_rule(std::string_view id) {
  for (const auto& r : rules())
    if (id == r.id) return &r;
  return nullptr;
}
}  // namespace luamig::lint
