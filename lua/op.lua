-- The `op` API migrations call. Operations are data: each op validates its arguments once (an unknown option is an
-- error, as an unknown keyword argument is in Alembic) and builds a record { kind = "add_column", table = ...,
-- ... } (docs/ops-plan.md), which emit() hands to the database's renderer (lua/dialect/<name>.lua, interface in
-- lua/dialect/interface.lua) and records in the plan (lua/plan.lua) with the SQL and the migration's file:line.
-- Every statement goes to the host, which executes it, echoes it (--dry-run) or prints it (--sql).
-- batch_alter_table (lua/batch.lua) builds its records with the same builders.
-- D: the database's renderer (lua/dialect/<host.renderer>.lua), loaded and checked by lua/sandbox.lua; loaded here
-- when op.lua runs on its own.
--
-- About 600 lines, on purpose: every builder of the op vocabulary in one place, next to the one validation they
-- share.
local host, values, recorder, D = ...
if D == nil then
  local name = type(host.renderer) == "string" and host.renderer or host.dialect
  D = host.engine_module("dialect/interface").check(host.engine_module("dialect/" .. name, host, values),
    "lua/dialect/" .. name .. ".lua")
end

local op = {}
local type, error, select, tostring, ipairs, pairs, unpack = type, error, select, tostring, ipairs, pairs, unpack
local concat, sort = table.concat, table.sort
local render, where = D.render, host.where

op.NULL = host.NULL
op.dialect = host.dialect
op.offline = host.offline and true or false

op.text = values.text
local is_text = values.is_text
op.NULL_DEFAULT = values.NULL_DEFAULT

-- Runs one rendered statement: SQL text, { sql, params } or { sql, copy }. Returns the host's row count.
local function run_statement(st)
  if type(st) == "string" then return host.execute(st) end
  if st.copy then return host.copy_rows(st.copy.table, st.copy.columns, st.copy.rows) end
  local p = st.params
  if p then return host.execute(st.sql, unpack(p, 1, p.n)) end
  return host.execute(st.sql)
end

-- Records `rec` with the position of the migration line that called the op.
local function record(rec)
  rec.file, rec.line = where()
  recorder.add(rec)
  return rec
end

-- The one way an op reaches the database: render, record, run. Returns the summed row count (-1 when any is
-- unknown, as offline).
local function emit(rec)
  local statements = render[rec.kind](rec)
  rec.rows = nil   -- data rows are consumed by rendering; the record keeps row_count
  local sql = {}
  for i, st in ipairs(statements) do sql[i] = type(st) == "string" and st or st.sql end
  rec.sql = sql
  record(rec)
  local total = 0
  local function run_all()
    for _, st in ipairs(statements) do
      local n = run_statement(st)
      total = (total < 0 or n < 0) and -1 or total + n
    end
  end
  -- A table rebuild (SQLite) is several statements that must all apply or none: outside a transaction
  -- (`transactional = false`, autocommit_block) it gets one of its own.
  if statements.atomic and not host.in_transaction() then
    host.transaction(run_all)
  else
    run_all()
  end
  return total
end

---------------------------------------------------------------------------------------------------------------
-- Argument checks. Errors are raised at level 4: check -> builder -> op.<kind> -> the migration line.

local function check_name(fname, what, v)
  if type(v) ~= "string" or v == "" then
    error(fname .. ": " .. what .. " must be a non-empty string, got " .. (v == "" and "an empty string" or type(v)), 4)
  end
end

local function key_list(allowed)
  local keys = {}
  for k in pairs(allowed) do keys[#keys + 1] = k end
  sort(keys)
  return concat(keys, ", ")
end

-- Options tables: nil is {}; every key must be one the op knows.
local function check_opts(fname, opts, allowed)
  if opts == nil then return {} end
  if type(opts) ~= "table" or is_text(opts) then
    error(fname .. ": options must be a table, got " .. (is_text(opts) and "op.text" or type(opts)), 4)
  end
  for k in pairs(opts) do
    if not allowed[k] then
      error(fname .. ": unknown option '" .. tostring(k) .. "' (known: " .. key_list(allowed) .. ")", 4)
    end
  end
  return opts
end

local function set(...)
  local t = {}
  for i = 1, select("#", ...) do t[select(i, ...)] = true end
  return t
end

local column_keys = set(1, 2, "nullable", "default", "server_default", "primary_key", "unique", "index", "references",
  "ondelete", "onupdate", "check", "comment", "identity", "autoincrement")

-- A column is { "name", "type", nullable = ..., ... }; server_default is Alembic's spelling of default.
local function check_column(fname, col)
  if type(col) ~= "table" or is_text(col) then
    error(fname .. ": a column is a table { \"name\", \"type\", ... }, got " .. type(col), 4)
  end
  if type(col[1]) ~= "string" or col[1] == "" then error(fname .. ": column name (first element) must be a string", 4) end
  if col[2] == nil then error(fname .. ": column '" .. col[1] .. "' has no type (second element)", 4) end
  for k in pairs(col) do
    if not column_keys[k] then
      error(fname .. ": column '" .. col[1] .. "': unknown attribute '" .. tostring(k) .. "' (known: nullable, default, " ..
        "primary_key, unique, index, references, ondelete, onupdate, check, comment, identity)", 4)
    end
  end
  if col.server_default ~= nil then
    if col.default ~= nil then error(fname .. ": column '" .. col[1] .. "': give default or server_default, not both", 4) end
    local c = {}
    for k, v in pairs(col) do c[k] = v end
    c.default, c.server_default = col.server_default, nil
    col = c
  end
  if (col.ondelete or col.onupdate) and not col.references then
    error(fname .. ": column '" .. col[1] .. "': ondelete/onupdate need references = \"table(column)\"", 4)
  end
  return col
end

local function column_list(fname, cols)
  if type(cols) == "string" then cols = { cols } end
  if type(cols) ~= "table" or is_text(cols) or #cols == 0 then error(fname .. ": columns must be a non-empty list", 4) end
  return cols
end

local function sql_text(fname, what, v)
  if type(v) == "string" then return v end
  if is_text(v) then return v.sql end
  error(fname .. ": " .. what .. " must be SQL text (a string or op.text), got " .. type(v), 4)
end

-- Statements PostgreSQL refuses inside a transaction get a clear message before the server's 25001.
local function needs_no_transaction(fname)
  if host.in_transaction() then
    error(fname .. ": concurrently = true cannot run inside a transaction; wrap it in " ..
      "op.autocommit_block(function() ... end) or declare `transactional = false` at the top of the migration", 4)
  end
end

---------------------------------------------------------------------------------------------------------------
-- Statements

function op.execute(sql, ...)
  if is_text(sql) then sql = sql.sql end
  if type(sql) ~= "string" then error("op.execute: expected a SQL string, got " .. type(sql), 2) end
  record({ kind = "execute", sql = { sql }, params = select("#", ...) })
  return host.execute(sql, ...)
end

---------------------------------------------------------------------------------------------------------------
-- Record builders. Each validates an op's arguments and returns its record; op.<kind> emits it, batch_alter_table
-- collects it. Errors are raised at level 3 (builder -> op.<kind> -> the migration line).

local build = {}
local schema_only = set("schema")

-- Copies the options into the record (they are the record's fields).
local function with_fields(rec, opts)
  for k, v in pairs(opts) do if rec[k] == nil then rec[k] = v end end
  return rec
end

-- Tables and columns

local add_column_opts = set("schema", "if_not_exists")
function build.add_column(table_name, column, opts)
  check_name("op.add_column", "table name", table_name)
  column = check_column("op.add_column", column)
  opts = check_opts("op.add_column", opts, add_column_opts)
  return with_fields({ kind = "add_column", table = table_name, column = column }, opts)
end

local drop_column_opts = set("schema", "if_exists", "cascade")
function build.drop_column(table_name, column_name, opts)
  check_name("op.drop_column", "table name", table_name)
  check_name("op.drop_column", "column name", column_name)
  opts = check_opts("op.drop_column", opts, drop_column_opts)
  return with_fields({ kind = "drop_column", table = table_name, column = column_name }, opts)
end

local create_table_opts = set("schema", "if_not_exists", "comment")

-- op.create_table(name, column..., constraint..., [options]). Options may also hold constraints in their list part.
function build.create_table(name, ...)
  check_name("op.create_table", "table name", name)
  local columns, constraints, opts = {}, {}, {}
  local n = select("#", ...)
  for i = 1, n do
    local item = select(i, ...)
    if type(item) ~= "table" or is_text(item) then
      error("op.create_table: argument " .. (i + 1) .. " must be a table, got " .. type(item), 3)
    end
    if item.constraint then
      constraints[#constraints + 1] = item
    elseif type(item[1]) == "string" then
      columns[#columns + 1] = check_column("op.create_table", item)
    elseif i == n then
      for k in pairs(item) do
        if type(k) ~= "number" and not create_table_opts[k] then
          error("op.create_table: unknown option '" .. tostring(k) .. "' (known: " .. key_list(create_table_opts) .. ")", 3)
        end
      end
      opts = item
      for _, c in ipairs(item) do
        if type(c) ~= "table" or not c.constraint then
          error("op.create_table: the options' list part may only hold constraints (op.primary_key, op.unique, " ..
            "op.foreign_key, op.check)", 3)
        end
        constraints[#constraints + 1] = c
      end
    else
      error("op.create_table: argument " .. (i + 1) .. " is neither a column nor a constraint", 3)
    end
  end
  if #columns == 0 then error("op.create_table: table '" .. name .. "' needs at least one column", 3) end
  return { kind = "create_table", table = name, columns = columns, constraints = constraints, schema = opts.schema,
    if_not_exists = opts.if_not_exists, comment = opts.comment }
end

local drop_table_opts = set("schema", "if_exists", "cascade")
function build.drop_table(name, opts)
  check_name("op.drop_table", "table name", name)
  opts = check_opts("op.drop_table", opts, drop_table_opts)
  return with_fields({ kind = "drop_table", table = name }, opts)
end

function build.rename_table(old, new, opts)
  check_name("op.rename_table", "old name", old)
  check_name("op.rename_table", "new name", new)
  opts = check_opts("op.rename_table", opts, schema_only)
  return { kind = "rename_table", table = old, new_name = new, schema = opts.schema }
end

local alter_opts = set("schema", "type", "using", "nullable", "default", "server_default", "new_name", "comment",
  "existing_type", "existing_nullable", "existing_server_default", "existing_comment")

-- op.alter_column(table, column, { type, using, nullable, default | op.NULL_DEFAULT, new_name, comment, schema }).
-- Statements come in Alembic's order: type, nullability, default, comment, then the rename. existing_* options
-- are accepted (Alembic needs them on some backends) and ignored.
function build.alter_column(table_name, column_name, opts)
  check_name("op.alter_column", "table name", table_name)
  check_name("op.alter_column", "column name", column_name)
  opts = check_opts("op.alter_column", opts, alter_opts)
  if opts.server_default ~= nil then
    if opts.default ~= nil then error("op.alter_column: give default or server_default, not both", 3) end
    local o = {}
    for k, v in pairs(opts) do o[k] = v end
    o.default, o.server_default = opts.server_default, nil
    opts = o
  end
  if opts.nullable ~= nil and type(opts.nullable) ~= "boolean" then
    error("op.alter_column: nullable must be true or false, got " .. type(opts.nullable), 3)
  end
  if opts.using ~= nil then
    sql_text("op.alter_column", "using", opts.using)
    if opts.type == nil then error("op.alter_column: using needs type", 3) end
  end
  if opts.new_name ~= nil then check_name("op.alter_column", "new_name", opts.new_name) end
  if opts.type == nil and opts.nullable == nil and opts.default == nil and opts.comment == nil and opts.new_name == nil then
    error("op.alter_column: nothing to change (give type, nullable, default, comment or new_name)", 3)
  end
  return with_fields({ kind = "alter_column", table = table_name, column = column_name }, opts)
end

function build.rename_column(table_name, old, new, opts)
  check_name("op.rename_column", "table name", table_name)
  check_name("op.rename_column", "old name", old)
  check_name("op.rename_column", "new name", new)
  opts = check_opts("op.rename_column", opts, schema_only)
  return { kind = "rename_column", table = table_name, column = old, new_name = new, schema = opts.schema }
end

local create_table_comment_opts = set("schema", "existing_comment")
function build.create_table_comment(table_name, comment, opts)
  check_name("op.create_table_comment", "table name", table_name)
  if type(comment) ~= "string" then error("op.create_table_comment: comment must be a string, got " .. type(comment), 3) end
  opts = check_opts("op.create_table_comment", opts, create_table_comment_opts)
  return with_fields({ kind = "create_table_comment", table = table_name, comment = comment }, opts)
end

local drop_table_comment_opts = set("schema", "existing_comment")
function build.drop_table_comment(table_name, opts)
  check_name("op.drop_table_comment", "table name", table_name)
  opts = check_opts("op.drop_table_comment", opts, drop_table_comment_opts)
  return with_fields({ kind = "drop_table_comment", table = table_name }, opts)
end

-- Indexes

local index_opts = set("schema", "unique", "where", "using", "concurrently", "if_not_exists", "include")

-- op.create_index(name, table, { "col", op.text("lower(email)") }, { unique, where, using, concurrently, ... })
function build.create_index(name, table_name, columns, opts)
  check_name("op.create_index", "index name", name)
  check_name("op.create_index", "table name", table_name)
  columns = column_list("op.create_index", columns)
  for i, c in ipairs(columns) do
    if type(c) ~= "string" and not is_text(c) then
      error("op.create_index: column " .. i .. " must be a column name or op.text(expression), got " .. type(c), 3)
    end
  end
  opts = check_opts("op.create_index", opts, index_opts)
  if opts.where ~= nil then sql_text("op.create_index", "where", opts.where) end
  local rec = with_fields({ kind = "create_index", name = name, table = table_name, columns = columns }, opts)
  if opts.include ~= nil then rec.include = column_list("op.create_index", opts.include) end
  if opts.concurrently then needs_no_transaction("op.create_index") end
  return rec
end

local drop_index_opts = set("schema", "concurrently", "if_exists", "cascade")
-- op.drop_index(name, [table_name], { concurrently, if_exists, cascade, schema }); the table name (Alembic's second
-- argument) is accepted and not needed on PostgreSQL.
function build.drop_index(name, table_name, opts)
  check_name("op.drop_index", "index name", name)
  if type(table_name) ~= "string" then
    if opts ~= nil then error("op.drop_index: the second argument is the table name, a string", 3) end
    opts, table_name = table_name, nil
  end
  opts = check_opts("op.drop_index", opts, drop_index_opts)
  if opts.concurrently then needs_no_transaction("op.drop_index") end
  return with_fields({ kind = "drop_index", name = name, table = table_name }, opts)
end

-- Constraints. A constraint record carries the constraint's own fields (constraint = "foreign_key", name, columns,
-- referent...), the shape op.primary_key/op.unique/op.check/op.foreign_key build for create_table.

local fk_opts = set("schema", "source_schema", "referent_schema", "ondelete", "onupdate", "deferrable", "initially",
  "not_valid", "match")

local function constraint_name(fname, name)
  if name ~= nil then check_name(fname, "constraint name", name) end
end

function build.create_primary_key(name, table_name, columns, opts)
  constraint_name("op.create_primary_key", name)
  check_name("op.create_primary_key", "table name", table_name)
  columns = column_list("op.create_primary_key", columns)
  opts = check_opts("op.create_primary_key", opts, schema_only)
  return { kind = "create_primary_key", constraint = "primary_key", name = name, table = table_name,
    columns = columns, schema = opts.schema }
end

local create_unique_constraint_opts = set("schema", "deferrable", "initially")
function build.create_unique_constraint(name, table_name, columns, opts)
  constraint_name("op.create_unique_constraint", name)
  check_name("op.create_unique_constraint", "table name", table_name)
  opts = check_opts("op.create_unique_constraint", opts, create_unique_constraint_opts)
  return { kind = "create_unique_constraint", constraint = "unique", name = name, table = table_name,
    deferrable = opts.deferrable, initially = opts.initially,
    columns = column_list("op.create_unique_constraint", columns), schema = opts.schema }
end

-- op.create_foreign_key(name, source, referent, local_cols, remote_cols, { ondelete, onupdate, deferrable,
-- initially, not_valid, match, source_schema | schema, referent_schema })
function build.create_foreign_key(name, source, referent, local_cols, remote_cols, opts)
  constraint_name("op.create_foreign_key", name)
  check_name("op.create_foreign_key", "source table", source)
  check_name("op.create_foreign_key", "referent table", referent)
  opts = check_opts("op.create_foreign_key", opts, fk_opts)
  local lc = column_list("op.create_foreign_key", local_cols)
  local rc = column_list("op.create_foreign_key", remote_cols)
  if #lc ~= #rc then
    error("op.create_foreign_key: " .. #lc .. " local column(s) but " .. #rc .. " remote column(s)", 3)
  end
  return { kind = "create_foreign_key", constraint = "foreign_key", name = name, table = source,
    schema = opts.source_schema or opts.schema, columns = lc, referent = referent,
    referent_schema = opts.referent_schema, remote_columns = rc, ondelete = opts.ondelete, onupdate = opts.onupdate,
    deferrable = opts.deferrable, initially = opts.initially, not_valid = opts.not_valid, match = opts.match }
end

local create_check_constraint_opts = set("schema", "not_valid")
function build.create_check_constraint(name, table_name, condition, opts)
  constraint_name("op.create_check_constraint", name)
  check_name("op.create_check_constraint", "table name", table_name)
  condition = sql_text("op.create_check_constraint", "condition", condition)
  opts = check_opts("op.create_check_constraint", opts, create_check_constraint_opts)
  return { kind = "create_check_constraint", constraint = "check", name = name, table = table_name,
    condition = condition, not_valid = opts.not_valid, schema = opts.schema }
end

local drop_constraint_opts = set("schema", "type_", "type", "if_exists", "cascade")
-- op.drop_constraint(name, table, { type_, schema, if_exists, cascade }); type_ (Alembic's) is accepted and not
-- needed on PostgreSQL.
function build.drop_constraint(name, table_name, opts)
  check_name("op.drop_constraint", "constraint name", name)
  check_name("op.drop_constraint", "table name", table_name)
  opts = check_opts("op.drop_constraint", opts, drop_constraint_opts)
  return with_fields({ kind = "drop_constraint", name = name, table = table_name }, opts)
end

-- Data

-- op.bulk_insert(table, { { col = value, ... }, ... }, { schema }): multi-row INSERTs with bound values. A column a
-- row leaves out gets its DEFAULT; op.NULL is an explicit NULL; op.text(...) is raw SQL.
function build.bulk_insert(table_name, rows, opts)
  check_name("op.bulk_insert", "table name", table_name)
  if type(rows) ~= "table" or is_text(rows) then error("op.bulk_insert: rows must be a list of tables", 3) end
  opts = check_opts("op.bulk_insert", opts, schema_only)
  local cols, seen = {}, {}
  for i, row in ipairs(rows) do
    if type(row) ~= "table" or is_text(row) then error("op.bulk_insert: row " .. i .. " is not a table", 3) end
    for k, v in pairs(row) do
      if type(k) ~= "string" then error("op.bulk_insert: row " .. i .. " has a non-string key", 3) end
      local t = type(v)
      if not (t == "string" or t == "number" or t == "boolean" or v == op.NULL or is_text(v)) then
        error("op.bulk_insert: row " .. i .. ", column '" .. k .. "' is a " .. t ..
          "; values are strings, numbers, booleans, op.NULL or op.text(...)", 3)
      end
      if not seen[k] then seen[k] = true; cols[#cols + 1] = k end
    end
  end
  if #rows > 0 and #cols == 0 then error("op.bulk_insert: the rows have no columns", 3) end
  sort(cols)
  return { kind = "bulk_insert", table = table_name, schema = opts.schema, columns = cols, row_count = #rows,
    rows = rows }
end

-- op.copy_rows(table, { "col", ... }, { { v1, v2 }, ... }, { schema }): COPY, the fastest way to load rows
-- (PostgreSQL). Values as for op.execute parameters. Returns the number of rows.
function build.copy_rows(table_name, columns, rows, opts)
  check_name("op.copy_rows", "table name", table_name)
  columns = column_list("op.copy_rows", columns)
  if type(rows) ~= "table" then error("op.copy_rows: rows must be a list of lists", 3) end
  opts = check_opts("op.copy_rows", opts, schema_only)
  for i, c in ipairs(columns) do
    if type(c) ~= "string" then error("op.copy_rows: column " .. i .. " must be a name", 3) end
  end
  return { kind = "copy_rows", table = table_name, schema = opts.schema, columns = columns, row_count = #rows,
    rows = rows }
end

-- op.<kind>(...): build, then emit. (Not tail calls: the builder's errors are raised at the caller's line.)
for _, kind in ipairs({ "add_column", "drop_column", "create_table", "drop_table", "rename_table", "alter_column",
  "rename_column", "create_table_comment", "drop_table_comment", "create_index", "drop_index", "create_primary_key",
  "create_unique_constraint", "create_foreign_key", "create_check_constraint", "drop_constraint" }) do
  local builder = build[kind]
  op[kind] = function(...)
    emit(builder(...))
  end
end

function op.bulk_insert(...)
  local rec = build.bulk_insert(...)
  if rec.row_count == 0 then
    rec.rows, rec.sql = nil, {}
    record(rec)
    return 0
  end
  return emit(rec)
end

function op.copy_rows(...)
  local rec = build.copy_rows(...)
  if rec.row_count == 0 then
    rec.rows, rec.sql = nil, {}
    record(rec)
    return 0
  end
  return emit(rec)
end

-- Constraint constructors for op.create_table (errors at level 3: constructor -> op.<name> -> the caller).
local ctor = {}
function ctor.primary_key(columns, name)
  return { constraint = "primary_key", columns = column_list("op.primary_key", columns), name = name }
end
function ctor.unique(columns, name)
  return { constraint = "unique", columns = column_list("op.unique", columns), name = name }
end
function ctor.check(condition, name)
  return { constraint = "check", condition = sql_text("op.check", "condition", condition), name = name }
end
function ctor.foreign_key(columns, referent, remote_columns, opts)
  check_name("op.foreign_key", "referent table", referent)
  opts = check_opts("op.foreign_key", opts, set("name", "ondelete", "onupdate", "deferrable", "initially",
    "referent_schema", "match", "not_valid"))
  return { constraint = "foreign_key", columns = column_list("op.foreign_key", columns), referent = referent,
    remote_columns = column_list("op.foreign_key", remote_columns), name = opts.name, ondelete = opts.ondelete,
    onupdate = opts.onupdate, deferrable = opts.deferrable, initially = opts.initially,
    referent_schema = opts.referent_schema, match = opts.match }
end
for name, f in pairs(ctor) do
  op[name] = function(...)
    local c = f(...)
    return c
  end
end
---------------------------------------------------------------------------------------------------------------
-- Transactions

-- Commits the work so far, runs fn outside a transaction, then opens a new one (Alembic's autocommit_block).
function op.autocommit_block(fn)
  if type(fn) ~= "function" then error("op.autocommit_block: expected a function", 2) end
  local rec, before = record({ kind = "autocommit_block" }), recorder.count()
  host.autocommit_block(fn)
  rec.records = recorder.count() - before
end

-- Runs fn in a transaction of its own; for `transactional = false` migrations (and inside autocommit_block).
function op.transaction(fn)
  if type(fn) ~= "function" then error("op.transaction: expected a function", 2) end
  if host.in_transaction() then
    error("op.transaction: a transaction is already open; op.transaction is for migrations declared " ..
      "`transactional = false` and for op.autocommit_block", 2)
  end
  local rec, before = record({ kind = "transaction" }), recorder.count()
  host.transaction(fn)
  rec.records = recorder.count() - before
end

function op.in_transaction() return host.in_transaction() end

local function savepoint_done(ok, ...)
  if ok then
    host.execute("RELEASE SAVEPOINT luamig_savepoint")
    return ...
  end
  local err = ...
  pcall(host.execute, "ROLLBACK TO SAVEPOINT luamig_savepoint; RELEASE SAVEPOINT luamig_savepoint")
  error(err, 0)
end

-- Runs fn inside a savepoint and returns its results: when fn raises an error, what it did in the database is
-- undone (ROLLBACK TO SAVEPOINT), the transaction stays usable, and the error goes on to the caller. Nests.
function op.savepoint(fn)
  if type(fn) ~= "function" then error("op.savepoint: expected a function", 2) end
  if not host.in_transaction() then
    error("op.savepoint: no transaction is open (a savepoint lives inside one; in a `transactional = false` " ..
      "migration or op.autocommit_block use op.transaction)", 2)
  end
  host.execute("SAVEPOINT luamig_savepoint")
  return savepoint_done(pcall(fn))
end

---------------------------------------------------------------------------------------------------------------
-- Reading data. Rows are tables keyed by column name. Types: integer and float columns become numbers (a bigint
-- beyond 2^53 stays a string, exactly), booleans become booleans, NULL becomes op.NULL (a table cannot hold nil),
-- numeric, text, dates, json and everything else are strings. op.query_value returns nil for NULL.

local function check_query(fname, sql)
  if is_text(sql) then return sql.sql end
  if type(sql) ~= "string" then error(fname .. ": expected a SQL string, got " .. type(sql), 3) end
  return sql
end

-- Iterator over the rows of any statement that returns rows (SELECT, VALUES, SHOW, EXPLAIN, INSERT/UPDATE/DELETE
-- ... RETURNING, WITH ...). A read-only query streams through a cursor (memory stays flat whatever the row count);
-- other statements run at once and their result is held.
function op.query(sql, ...)
  sql = check_query("op.query", sql)
  record({ kind = "query", sql = { sql }, params = select("#", ...) })
  local stream = host.query(sql, ...)
  return function() return stream:next() end
end

function op.query_one(sql, ...)
  sql = check_query("op.query_one", sql)
  record({ kind = "query", sql = { sql }, params = select("#", ...) })
  local stream = host.query(sql, ...)
  local row = stream:next()
  stream:close()
  return row
end

function op.query_value(sql, ...)
  sql = check_query("op.query_value", sql)
  record({ kind = "query", sql = { sql }, params = select("#", ...) })
  local stream = host.query(sql, ...)
  local cols = stream:columns()
  local row = stream:next()
  stream:close()
  if not row or not cols[1] then return nil end
  local v = row[cols[1]]
  if v == op.NULL then return nil end
  return v
end

---------------------------------------------------------------------------------------------------------------
-- Helpers

op.quote_ident = D.quote_ident
op.literal = D.literal
-- Alembic's op.f(name): marks a name as final; names are always used as given here.
local function final_name(name)
  check_name("op.f", "name", name)
  return name
end
function op.f(name)
  local n = final_name(name)
  return n
end
-- Alembic's op.inline_literal(value): the value as an SQL literal, for op.execute text.
function op.inline_literal(v) return op.text(D.literal(v)) end

op.types = host.engine_module("types")
op.batch_alter_table = host.engine_module("batch", host, { build = build, emit = emit, record = record, D = D })

return op
