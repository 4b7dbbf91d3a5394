---@meta luamig
-- luacheck: ignore   (declarations only: stubs that name the API for editors)
-- Type annotations (LuaLS / EmmyLua) for what a luamig migration or hook sees: op, context, log, print, require
-- ("luamig.backfill"). Written by `luamig editor-support DIR` and `luamig init`; not loaded at run time.
-- A test checks that every public op function, and every option an op function accepts, is named here.

---A column: { "name", "type", nullable = ..., ... } (server_default is Alembic's spelling of default).
---@class luamig.Column
---@field [1] string column name
---@field [2] string|luamig.Text SQL type, e.g. "bigint", "varchar(255)", op.types.*
---@field nullable? boolean
---@field default? any|luamig.Text a literal value, or op.text("now()")
---@field server_default? any|luamig.Text
---@field primary_key? boolean
---@field unique? boolean
---@field index? boolean
---@field references? string "table(column)" or "table"
---@field ondelete? string
---@field onupdate? string
---@field check? string|luamig.Text
---@field comment? string
---@field identity? boolean|string
---@field autoincrement? boolean

---Raw SQL made by op.text(sql).
---@class luamig.Text
---@field sql string

---A constraint made by op.primary_key, op.unique, op.check or op.foreign_key, for op.create_table.
---@class luamig.Constraint

---A row of op.query/op.query_one: column name -> value (NULL is op.NULL).
---@alias luamig.Row table<string, any>

---@class luamig.op.add_column.opts
---@field schema? string
---@field if_not_exists? boolean

---@class luamig.op.drop_column.opts
---@field schema? string
---@field if_exists? boolean
---@field cascade? boolean

---@class luamig.op.create_table.opts
---@field schema? string
---@field if_not_exists? boolean
---@field comment? string

---@class luamig.op.drop_table.opts
---@field schema? string
---@field if_exists? boolean
---@field cascade? boolean

---@class luamig.op.rename_table.opts
---@field schema? string

---@class luamig.op.alter_column.opts
---@field schema? string
---@field type? string|luamig.Text new type
---@field using? string|luamig.Text USING expression for the type change (PostgreSQL)
---@field nullable? boolean
---@field default? any|luamig.Text op.NULL_DEFAULT drops the default
---@field server_default? any|luamig.Text
---@field new_name? string
---@field comment? string|false
---@field existing_type? string
---@field existing_nullable? boolean
---@field existing_server_default? any
---@field existing_comment? string

---@class luamig.op.rename_column.opts
---@field schema? string

---@class luamig.op.create_table_comment.opts
---@field schema? string
---@field existing_comment? string

---@class luamig.op.drop_table_comment.opts
---@field schema? string
---@field existing_comment? string

---@class luamig.op.create_index.opts
---@field schema? string
---@field unique? boolean
---@field where? string|luamig.Text partial index condition
---@field using? string index method: btree, hash, gin, gist, brin, spgist
---@field concurrently? boolean CREATE INDEX CONCURRENTLY (PostgreSQL; outside a transaction)
---@field if_not_exists? boolean
---@field include? string[]

---@class luamig.op.drop_index.opts
---@field schema? string
---@field concurrently? boolean
---@field if_exists? boolean
---@field cascade? boolean

---@class luamig.op.create_primary_key.opts
---@field schema? string

---@class luamig.op.create_unique_constraint.opts
---@field schema? string
---@field deferrable? boolean
---@field initially? string

---@class luamig.op.create_foreign_key.opts
---@field schema? string
---@field source_schema? string
---@field referent_schema? string
---@field ondelete? string
---@field onupdate? string
---@field deferrable? boolean
---@field initially? string
---@field not_valid? boolean
---@field match? string

---@class luamig.op.create_check_constraint.opts
---@field schema? string
---@field not_valid? boolean

---@class luamig.op.drop_constraint.opts
---@field schema? string
---@field type_? "foreignkey"|"primary"|"unique"|"check"
---@field type? "foreignkey"|"primary"|"unique"|"check"
---@field if_exists? boolean
---@field cascade? boolean

---@class luamig.op.foreign_key.opts
---@field name? string
---@field ondelete? string
---@field onupdate? string
---@field deferrable? boolean
---@field initially? string
---@field referent_schema? string
---@field match? string
---@field not_valid? boolean

---@class luamig.op.bulk_insert.opts
---@field schema? string

---@class luamig.op.copy_rows.opts
---@field schema? string

---The operations a migration runs (Alembic's op).
---@class luamig.op
---@field NULL any the value of an SQL NULL in rows and parameters
---@field NULL_DEFAULT any alter_column{ default = op.NULL_DEFAULT } drops the default
---@field dialect "postgresql"|"sqlite"
---@field offline boolean true under --sql
---@field types table SQL type helpers
op = {}

---Raw SQL, for defaults, index expressions and conditions.
---@param sql string
---@return luamig.Text
function op.text(sql) end

---Runs SQL with optional bound parameters ($1, $2... or ?).
---@param sql string|luamig.Text
---@param ... any parameters
function op.execute(sql, ...) end

---@param table_name string
---@param column luamig.Column
---@param opts? luamig.op.add_column.opts
function op.add_column(table_name, column, opts) end

---@param table_name string
---@param column_name string
---@param opts? luamig.op.drop_column.opts
function op.drop_column(table_name, column_name, opts) end

---op.create_table(name, column..., constraint..., [options])
---@param name string
---@param ... luamig.Column|luamig.Constraint|luamig.op.create_table.opts
function op.create_table(name, ...) end

---@param name string
---@param opts? luamig.op.drop_table.opts
function op.drop_table(name, opts) end

---@param old string
---@param new string
---@param opts? luamig.op.rename_table.opts
function op.rename_table(old, new, opts) end

---@param table_name string
---@param column_name string
---@param opts luamig.op.alter_column.opts
function op.alter_column(table_name, column_name, opts) end

---@param table_name string
---@param old string
---@param new string
---@param opts? luamig.op.rename_column.opts
function op.rename_column(table_name, old, new, opts) end

---@param table_name string
---@param comment string
---@param opts? luamig.op.create_table_comment.opts
function op.create_table_comment(table_name, comment, opts) end

---@param table_name string
---@param opts? luamig.op.drop_table_comment.opts
function op.drop_table_comment(table_name, opts) end

---@param name string
---@param table_name string
---@param columns string[]|string
---@param opts? luamig.op.create_index.opts
function op.create_index(name, table_name, columns, opts) end

---@param name string
---@param table_name? string
---@param opts? luamig.op.drop_index.opts
function op.drop_index(name, table_name, opts) end

---@param name string
---@param table_name string
---@param columns string[]
---@param opts? luamig.op.create_primary_key.opts
function op.create_primary_key(name, table_name, columns, opts) end

---@param name string
---@param table_name string
---@param columns string[]
---@param opts? luamig.op.create_unique_constraint.opts
function op.create_unique_constraint(name, table_name, columns, opts) end

---@param name string
---@param source string
---@param referent string
---@param local_cols string[]
---@param remote_cols string[]
---@param opts? luamig.op.create_foreign_key.opts
function op.create_foreign_key(name, source, referent, local_cols, remote_cols, opts) end

---@param name string
---@param table_name string
---@param condition string|luamig.Text
---@param opts? luamig.op.create_check_constraint.opts
function op.create_check_constraint(name, table_name, condition, opts) end

---@param name string
---@param table_name string
---@param opts? luamig.op.drop_constraint.opts
function op.drop_constraint(name, table_name, opts) end

---A PRIMARY KEY for op.create_table.
---@param columns string[]
---@param name? string
---@return luamig.Constraint
function op.primary_key(columns, name) end

---A UNIQUE constraint for op.create_table.
---@param columns string[]
---@param name? string
---@return luamig.Constraint
function op.unique(columns, name) end

---A CHECK constraint for op.create_table.
---@param condition string|luamig.Text
---@param name? string
---@return luamig.Constraint
function op.check(condition, name) end

---A FOREIGN KEY for op.create_table.
---@param columns string[]
---@param referent string
---@param remote_columns string[]
---@param opts? luamig.op.foreign_key.opts
---@return luamig.Constraint
function op.foreign_key(columns, referent, remote_columns, opts) end

---Inserts rows (tables keyed by column name).
---@param table_name string
---@param rows table[]
---@param opts? luamig.op.bulk_insert.opts
function op.bulk_insert(table_name, rows, opts) end

---Copies rows (lists of values in `columns` order), with COPY on PostgreSQL.
---@param table_name string
---@param columns string[]
---@param rows any[][]
---@param opts? luamig.op.copy_rows.opts
function op.copy_rows(table_name, columns, rows, opts) end

---Runs fn outside the migration's transaction (e.g. CREATE INDEX CONCURRENTLY).
---@param fn fun()
function op.autocommit_block(fn) end

---Runs fn in a transaction of its own (migrations declared `transactional = false`).
---@param fn fun()
function op.transaction(fn) end

---Runs fn inside a savepoint and returns its results: when fn raises an error, what it did in the database is
---undone (ROLLBACK TO SAVEPOINT), the transaction stays usable, and the error goes on to the caller. Nests.
---Needs an open transaction.
---@generic R
---@param fn fun(): R
---@return R
function op.savepoint(fn) end

---@return boolean
function op.in_transaction() end

---Iterates over the rows of a query, streamed.
---@param sql string|luamig.Text
---@param ... any parameters
---@return fun(): luamig.Row?
function op.query(sql, ...) end

---@param sql string|luamig.Text
---@param ... any parameters
---@return luamig.Row?
function op.query_one(sql, ...) end

---The first column of the first row (nil for NULL or no row).
---@param sql string|luamig.Text
---@param ... any parameters
---@return any
function op.query_value(sql, ...) end

---@param name string
---@return string
function op.quote_ident(name) end

---@param value any
---@return string
function op.literal(value) end

---Alembic's op.f(name): names are always used as given.
---@param name string
---@return string
function op.f(name) end

---The value as an SQL literal, for op.execute text.
---@param value any
---@return luamig.Text
function op.inline_literal(value) end

---Alembic's batch_alter_table: on SQLite, changes that need a table rebuild.
---@param table_name string
---@param fn_or_opts fun(batch: luamig.op)|table
---@param fn? fun(batch: luamig.op)
function op.batch_alter_table(table_name, fn_or_opts, fn) end

---The run's context (read-only).
---@class luamig.context
---@field environment string
---@field dialect "postgresql"|"sqlite"
---@field offline boolean
---@field x table<string, string> values of -x KEY=VALUE
---@field revision? string the revision being run
---@field direction? "upgrade"|"downgrade"
context = {}

---Messages, printed under the revision's header on stderr.
---@class luamig.log
log = {}
---@param ... any
function log.info(...) end
---@param ... any
function log.warn(...) end
---@param ... any
function log.error(...) end

---Same as log.info.
---@param ... any
function print(...) end

---@class luamig.backfill.spec
---@field table string
---@field key? string default "id"
---@field batch? integer rows per batch, default 10000
---@field where? string|luamig.Text
---@field columns? string[] columns passed to set(row)
---@field set fun(row: luamig.Row): table<string, any>? new values; nil skips the row
---@field method? "copy"|"unnest"|"values"
---@field schema? string
---@field label? string shown in progress lines
---@field name? string
---@field progress_every? integer
---@field commit_every_batch? boolean
---@field total? integer expected row count for progress (default: estimated from pg_class.reltuples)

---@class luamig.backfill.result
---@field rows integer
---@field updated integer
---@field batches integer
---@field seconds number
---@field resumed_from any

---@class luamig.backfill
local backfill = {}
---@param spec luamig.backfill.spec
---@return luamig.backfill.result
function backfill.update(spec) end

return backfill
