-- The `op` API migrations call. Each operation validates its arguments (an unknown option is an error, as an
-- unknown keyword argument is in Alembic), asks the dialect for SQL, and hands every statement to the host, which
-- executes it, echoes it (--dry-run) or prints it (--sql).
local host = ...
local D = host.engine_module("dialect/" .. host.dialect, host)

local op = {}
local type, error, select, tostring, ipairs, pairs, unpack = type, error, select, tostring, ipairs, pairs, unpack
local concat, sort = table.concat, table.sort

op.NULL = host.NULL
op.dialect = host.dialect
op.offline = host.offline and true or false

-- Raw SQL, for defaults, index expressions and conditions: op.text("now()"). Known by identity (a weak set), since
-- the metatable is hidden from migrations.
local TextMT = { __tostring = function(t) return t.sql end, __metatable = false }
local texts = setmetatable({}, { __mode = "k" })
function op.text(sql)
  if type(sql) ~= "string" then error("op.text: expected a string of SQL, got " .. type(sql), 2) end
  local t = setmetatable({ sql = sql }, TextMT)
  texts[t] = true
  return t
end
local function is_text(v) return texts[v] == true end
D.is_text = is_text

-- alter_column{ default = op.NULL_DEFAULT } drops the column's default.
op.NULL_DEFAULT = setmetatable({}, { __tostring = function() return "op.NULL_DEFAULT" end, __metatable = false })
D.NULL_DEFAULT = op.NULL_DEFAULT

local function run(statements)
  -- A table rebuild (SQLite) is several statements that must all apply or none: outside a transaction
  -- (`transactional = false`, autocommit_block) it gets one of its own.
  if statements.atomic and not host.in_transaction() then
    return host.transaction(function() for _, sql in ipairs(statements) do host.execute(sql) end end)
  end
  for _, sql in ipairs(statements) do host.execute(sql) end
end
op._run = run

---------------------------------------------------------------------------------------------------------------
-- Argument checks. Errors are raised at level 3: the migration line that called the op.

local function check_name(fname, what, v)
  if type(v) ~= "string" or v == "" then
    error(fname .. ": " .. what .. " must be a non-empty string, got " .. (v == "" and "an empty string" or type(v)), 3)
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
    error(fname .. ": options must be a table, got " .. (is_text(opts) and "op.text" or type(opts)), 3)
  end
  for k in pairs(opts) do
    if not allowed[k] then
      error(fname .. ": unknown option '" .. tostring(k) .. "' (known: " .. key_list(allowed) .. ")", 3)
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
    error(fname .. ": a column is a table { \"name\", \"type\", ... }, got " .. type(col), 3)
  end
  if type(col[1]) ~= "string" or col[1] == "" then error(fname .. ": column name (first element) must be a string", 3) end
  if col[2] == nil then error(fname .. ": column '" .. col[1] .. "' has no type (second element)", 3) end
  for k in pairs(col) do
    if not column_keys[k] then
      error(fname .. ": column '" .. col[1] .. "': unknown attribute '" .. tostring(k) .. "' (known: nullable, default, " ..
        "primary_key, unique, index, references, ondelete, onupdate, check, comment, identity)", 3)
    end
  end
  if col.server_default ~= nil then
    if col.default ~= nil then error(fname .. ": column '" .. col[1] .. "': give default or server_default, not both", 3) end
    local c = {}
    for k, v in pairs(col) do c[k] = v end
    c.default, c.server_default = col.server_default, nil
    col = c
  end
  if (col.ondelete or col.onupdate) and not col.references then
    error(fname .. ": column '" .. col[1] .. "': ondelete/onupdate need references = \"table(column)\"", 3)
  end
  return col
end

local function column_list(fname, cols)
  if type(cols) == "string" then cols = { cols } end
  if type(cols) ~= "table" or is_text(cols) or #cols == 0 then error(fname .. ": columns must be a non-empty list", 3) end
  return cols
end

local function sql_text(fname, what, v)
  if type(v) == "string" then return v end
  if is_text(v) then return v.sql end
  error(fname .. ": " .. what .. " must be SQL text (a string or op.text), got " .. type(v), 3)
end

-- Statements PostgreSQL refuses inside a transaction get a clear message before the server's 25001.
local function needs_no_transaction(fname)
  if host.in_transaction() then
    error(fname .. ": concurrently = true cannot run inside a transaction; wrap it in " ..
      "op.autocommit_block(function() ... end) or declare `transactional = false` at the top of the migration", 3)
  end
end

---------------------------------------------------------------------------------------------------------------
-- Statements

function op.execute(sql, ...)
  if is_text(sql) then sql = sql.sql end
  if type(sql) ~= "string" then error("op.execute: expected a SQL string, got " .. type(sql), 2) end
  return host.execute(sql, ...)
end

---------------------------------------------------------------------------------------------------------------
-- Tables and columns

local schema_only = set("schema")

function op.add_column(table_name, column, opts)
  check_name("op.add_column", "table name", table_name)
  column = check_column("op.add_column", column)
  opts = check_opts("op.add_column", opts, set("schema", "if_not_exists"))
  run(D.add_column(table_name, column, opts))
  if column.index then
    run(D.create_index(D.column_index_name(table_name, column[1]), table_name, { column[1] },
      { unique = column.unique and true or nil, schema = opts.schema }))
  end
end

function op.drop_column(table_name, column_name, opts)
  check_name("op.drop_column", "table name", table_name)
  check_name("op.drop_column", "column name", column_name)
  run(D.drop_column(table_name, column_name, check_opts("op.drop_column", opts, set("schema", "if_exists", "cascade"))))
end

local create_table_opts = set("schema", "if_not_exists", "comment")

-- op.create_table(name, column..., constraint..., [options]). Options may also hold constraints in their list part.
function op.create_table(name, ...)
  check_name("op.create_table", "table name", name)
  local columns, constraints, opts = {}, {}, {}
  local n = select("#", ...)
  for i = 1, n do
    local item = select(i, ...)
    if type(item) ~= "table" or is_text(item) then
      error("op.create_table: argument " .. (i + 1) .. " must be a table, got " .. type(item), 2)
    end
    if item.constraint then
      constraints[#constraints + 1] = item
    elseif type(item[1]) == "string" then
      columns[#columns + 1] = check_column("op.create_table", item)
    elseif i == n then
      for k in pairs(item) do
        if type(k) ~= "number" and not create_table_opts[k] then
          error("op.create_table: unknown option '" .. tostring(k) .. "' (known: " .. key_list(create_table_opts) .. ")", 2)
        end
      end
      opts = item
      for _, c in ipairs(item) do
        if type(c) ~= "table" or not c.constraint then
          error("op.create_table: the options' list part may only hold constraints (op.primary_key, op.unique, " ..
            "op.foreign_key, op.check)", 2)
        end
        constraints[#constraints + 1] = c
      end
    else
      error("op.create_table: argument " .. (i + 1) .. " is neither a column nor a constraint", 2)
    end
  end
  if #columns == 0 then error("op.create_table: table '" .. name .. "' needs at least one column", 2) end
  run(D.create_table(name, columns, constraints, opts))
  -- Columns with index = true get an index named as SQLAlchemy names it (ix_<table>_<column>), as Alembic's
  -- create_table does; unique + index is a unique index instead of a unique constraint.
  for _, col in ipairs(columns) do
    if col.index then
      run(D.create_index(D.column_index_name(name, col[1]), name, { col[1] },
        { unique = col.unique and true or nil, schema = opts.schema }))
    end
  end
end

function op.drop_table(name, opts)
  check_name("op.drop_table", "table name", name)
  run(D.drop_table(name, check_opts("op.drop_table", opts, set("schema", "if_exists", "cascade"))))
end

function op.rename_table(old, new, opts)
  check_name("op.rename_table", "old name", old)
  check_name("op.rename_table", "new name", new)
  run(D.rename_table(old, new, check_opts("op.rename_table", opts, schema_only)))
end

local alter_opts = set("schema", "type", "using", "nullable", "default", "server_default", "new_name", "comment",
  "existing_type", "existing_nullable", "existing_server_default", "existing_comment")

-- op.alter_column(table, column, { type, using, nullable, default | op.NULL_DEFAULT, new_name, comment, schema }).
-- Statements come in Alembic's order: type, nullability, default, comment, then the rename. existing_* options
-- are accepted (Alembic needs them on some backends) and ignored.
function op.alter_column(table_name, column_name, opts)
  check_name("op.alter_column", "table name", table_name)
  check_name("op.alter_column", "column name", column_name)
  opts = check_opts("op.alter_column", opts, alter_opts)
  if opts.server_default ~= nil then
    if opts.default ~= nil then error("op.alter_column: give default or server_default, not both", 2) end
    local o = {}
    for k, v in pairs(opts) do o[k] = v end
    o.default, o.server_default = opts.server_default, nil
    opts = o
  end
  if opts.nullable ~= nil and type(opts.nullable) ~= "boolean" then
    error("op.alter_column: nullable must be true or false, got " .. type(opts.nullable), 2)
  end
  if opts.using ~= nil then
    sql_text("op.alter_column", "using", opts.using)
    if opts.type == nil then error("op.alter_column: using needs type", 2) end
  end
  if opts.new_name ~= nil then check_name("op.alter_column", "new_name", opts.new_name) end
  if opts.type == nil and opts.nullable == nil and opts.default == nil and opts.comment == nil and opts.new_name == nil then
    error("op.alter_column: nothing to change (give type, nullable, default, comment or new_name)", 2)
  end
  run(D.alter_column(table_name, column_name, opts))
end

function op.rename_column(table_name, old, new, opts)
  check_name("op.rename_column", "table name", table_name)
  check_name("op.rename_column", "old name", old)
  check_name("op.rename_column", "new name", new)
  opts = check_opts("op.rename_column", opts, schema_only)
  run(D.alter_column(table_name, old, { new_name = new, schema = opts.schema }))
end

function op.create_table_comment(table_name, comment, opts)
  check_name("op.create_table_comment", "table name", table_name)
  if type(comment) ~= "string" then error("op.create_table_comment: comment must be a string, got " .. type(comment), 2) end
  run(D.table_comment(table_name, comment, check_opts("op.create_table_comment", opts, set("schema", "existing_comment"))))
end

function op.drop_table_comment(table_name, opts)
  check_name("op.drop_table_comment", "table name", table_name)
  run(D.table_comment(table_name, nil, check_opts("op.drop_table_comment", opts, set("schema", "existing_comment"))))
end

---------------------------------------------------------------------------------------------------------------
-- Indexes

local index_opts = set("schema", "unique", "where", "using", "concurrently", "if_not_exists", "include")

-- op.create_index(name, table, { "col", op.text("lower(email)") }, { unique, where, using, concurrently, ... })
function op.create_index(name, table_name, columns, opts)
  check_name("op.create_index", "index name", name)
  check_name("op.create_index", "table name", table_name)
  columns = column_list("op.create_index", columns)
  for i, c in ipairs(columns) do
    if type(c) ~= "string" and not is_text(c) then
      error("op.create_index: column " .. i .. " must be a column name or op.text(expression), got " .. type(c), 2)
    end
  end
  opts = check_opts("op.create_index", opts, index_opts)
  if opts.where ~= nil then sql_text("op.create_index", "where", opts.where) end
  if opts.include ~= nil then opts.include = column_list("op.create_index", opts.include) end
  if opts.concurrently then needs_no_transaction("op.create_index") end
  run(D.create_index(name, table_name, columns, opts))
end

-- op.drop_index(name, [table_name], { concurrently, if_exists, cascade, schema }); the table name (Alembic's second
-- argument) is accepted and not needed on PostgreSQL.
function op.drop_index(name, table_name, opts)
  check_name("op.drop_index", "index name", name)
  if type(table_name) ~= "string" then
    if opts ~= nil then error("op.drop_index: the second argument is the table name, a string", 2) end
    opts, table_name = table_name, nil
  end
  opts = check_opts("op.drop_index", opts, set("schema", "concurrently", "if_exists", "cascade"))
  if opts.concurrently then needs_no_transaction("op.drop_index") end
  run(D.drop_index(name, opts, table_name))
end

---------------------------------------------------------------------------------------------------------------
-- Constraints

local fk_opts = set("schema", "source_schema", "referent_schema", "ondelete", "onupdate", "deferrable", "initially",
  "not_valid", "match")

local function constraint_name(fname, name)
  if name ~= nil then check_name(fname, "constraint name", name) end
end

function op.create_primary_key(name, table_name, columns, opts)
  constraint_name("op.create_primary_key", name)
  check_name("op.create_primary_key", "table name", table_name)
  run(D.add_constraint(table_name, { constraint = "primary_key", name = name,
    columns = column_list("op.create_primary_key", columns) }, check_opts("op.create_primary_key", opts, schema_only)))
end

function op.create_unique_constraint(name, table_name, columns, opts)
  constraint_name("op.create_unique_constraint", name)
  check_name("op.create_unique_constraint", "table name", table_name)
  opts = check_opts("op.create_unique_constraint", opts, set("schema", "deferrable", "initially"))
  run(D.add_constraint(table_name, { constraint = "unique", name = name, deferrable = opts.deferrable,
    initially = opts.initially, columns = column_list("op.create_unique_constraint", columns) }, opts))
end

-- op.create_foreign_key(name, source, referent, local_cols, remote_cols, { ondelete, onupdate, deferrable,
-- initially, not_valid, match, source_schema | schema, referent_schema })
function op.create_foreign_key(name, source, referent, local_cols, remote_cols, opts)
  constraint_name("op.create_foreign_key", name)
  check_name("op.create_foreign_key", "source table", source)
  check_name("op.create_foreign_key", "referent table", referent)
  opts = check_opts("op.create_foreign_key", opts, fk_opts)
  local lc = column_list("op.create_foreign_key", local_cols)
  local rc = column_list("op.create_foreign_key", remote_cols)
  if #lc ~= #rc then
    error("op.create_foreign_key: " .. #lc .. " local column(s) but " .. #rc .. " remote column(s)", 2)
  end
  local schema = opts.source_schema or opts.schema
  run(D.add_constraint(source, { constraint = "foreign_key", name = name, columns = lc, referent = referent,
    referent_schema = opts.referent_schema, remote_columns = rc, ondelete = opts.ondelete, onupdate = opts.onupdate,
    deferrable = opts.deferrable, initially = opts.initially, not_valid = opts.not_valid, match = opts.match },
    { schema = schema }))
end

function op.create_check_constraint(name, table_name, condition, opts)
  constraint_name("op.create_check_constraint", name)
  check_name("op.create_check_constraint", "table name", table_name)
  condition = sql_text("op.create_check_constraint", "condition", condition)
  opts = check_opts("op.create_check_constraint", opts, set("schema", "not_valid"))
  run(D.add_constraint(table_name, { constraint = "check", name = name, condition = condition,
    not_valid = opts.not_valid }, opts))
end

-- op.drop_constraint(name, table, { type_, schema, if_exists, cascade }); type_ (Alembic's) is accepted and not
-- needed on PostgreSQL.
function op.drop_constraint(name, table_name, opts)
  check_name("op.drop_constraint", "constraint name", name)
  check_name("op.drop_constraint", "table name", table_name)
  run(D.drop_constraint(name, table_name,
    check_opts("op.drop_constraint", opts, set("schema", "type_", "type", "if_exists", "cascade"))))
end

-- Constraint constructors for op.create_table.
function op.primary_key(columns, name)
  return { constraint = "primary_key", columns = column_list("op.primary_key", columns), name = name }
end
function op.unique(columns, name)
  return { constraint = "unique", columns = column_list("op.unique", columns), name = name }
end
function op.check(condition, name)
  return { constraint = "check", condition = sql_text("op.check", "condition", condition), name = name }
end
function op.foreign_key(columns, referent, remote_columns, opts)
  check_name("op.foreign_key", "referent table", referent)
  opts = check_opts("op.foreign_key", opts, set("name", "ondelete", "onupdate", "deferrable", "initially",
    "referent_schema", "match", "not_valid"))
  return { constraint = "foreign_key", columns = column_list("op.foreign_key", columns), referent = referent,
    remote_columns = column_list("op.foreign_key", remote_columns), name = opts.name, ondelete = opts.ondelete,
    onupdate = opts.onupdate, deferrable = opts.deferrable, initially = opts.initially,
    referent_schema = opts.referent_schema, match = opts.match }
end

---------------------------------------------------------------------------------------------------------------
-- Data

-- op.bulk_insert(table, { { col = value, ... }, ... }, { schema }): multi-row INSERTs with bound values. A column a
-- row leaves out gets its DEFAULT; op.NULL is an explicit NULL; op.text(...) is raw SQL.
function op.bulk_insert(table_name, rows, opts)
  check_name("op.bulk_insert", "table name", table_name)
  if type(rows) ~= "table" or is_text(rows) then error("op.bulk_insert: rows must be a list of tables", 2) end
  opts = check_opts("op.bulk_insert", opts, schema_only)
  if #rows == 0 then return 0 end
  local cols, seen = {}, {}
  for i, row in ipairs(rows) do
    if type(row) ~= "table" or is_text(row) then error("op.bulk_insert: row " .. i .. " is not a table", 2) end
    for k, v in pairs(row) do
      if type(k) ~= "string" then error("op.bulk_insert: row " .. i .. " has a non-string key", 2) end
      local t = type(v)
      if not (t == "string" or t == "number" or t == "boolean" or v == op.NULL or is_text(v)) then
        error("op.bulk_insert: row " .. i .. ", column '" .. k .. "' is a " .. t ..
          "; values are strings, numbers, booleans, op.NULL or op.text(...)", 2)
      end
      if not seen[k] then seen[k] = true; cols[#cols + 1] = k end
    end
  end
  if #cols == 0 then error("op.bulk_insert: the rows have no columns", 2) end
  sort(cols)
  local total = 0
  local function add(n) total = (total < 0 or n < 0) and -1 or total + n end
  -- At most 65535 parameters per statement on PostgreSQL (D.max_params).
  local function insert(cols_, first, last)
    local batch = math.max(1, math.min(1000, math.floor((D.max_params or 65535) / #cols_)))
    for from = first, last, batch do
      local sql, params = D.insert_rows(table_name, cols_, rows, from, math.min(from + batch - 1, last), opts)
      add(host.execute(sql, unpack(params, 1, params.n)))
    end
  end
  if D.default_in_values ~= false then
    insert(cols, 1, #rows)
    return total
  end
  -- No DEFAULT inside VALUES (SQLite): each run of rows with the same columns is one INSERT naming just those.
  local function columns_of(row)
    local c = {}
    for k in pairs(row) do c[#c + 1] = k end
    sort(c)
    return c, concat(c, "\0")
  end
  local i = 1
  while i <= #rows do
    local c, sig = columns_of(rows[i])
    local j = i
    while j < #rows and select(2, columns_of(rows[j + 1])) == sig do j = j + 1 end
    if #c == 0 then
      for _ = i, j do add(host.execute("INSERT INTO " .. D.qualify(table_name, opts) .. " DEFAULT VALUES")) end
    else
      insert(c, i, j)
    end
    i = j + 1
  end
  return total
end

-- op.copy_rows(table, { "col", ... }, { { v1, v2 }, ... }, { schema }): COPY, the fastest way to load rows
-- (PostgreSQL). Values as for op.execute parameters. Returns the number of rows.
function op.copy_rows(table_name, columns, rows, opts)
  check_name("op.copy_rows", "table name", table_name)
  columns = column_list("op.copy_rows", columns)
  if type(rows) ~= "table" then error("op.copy_rows: rows must be a list of lists", 2) end
  opts = check_opts("op.copy_rows", opts, schema_only)
  if #rows == 0 then return 0 end
  local quoted = {}
  for i, c in ipairs(columns) do
    if type(c) ~= "string" then error("op.copy_rows: column " .. i .. " must be a name", 2) end
    quoted[i] = D.quote_ident(c)
  end
  return host.copy_rows(D.qualify(table_name, opts), quoted, rows)
end

---------------------------------------------------------------------------------------------------------------
-- Transactions

-- Commits the work so far, runs fn outside a transaction, then opens a new one (Alembic's autocommit_block).
function op.autocommit_block(fn)
  if type(fn) ~= "function" then error("op.autocommit_block: expected a function", 2) end
  host.autocommit_block(fn)
end

-- Runs fn in a transaction of its own; for `transactional = false` migrations (and inside autocommit_block).
function op.transaction(fn)
  if type(fn) ~= "function" then error("op.transaction: expected a function", 2) end
  if host.in_transaction() then
    error("op.transaction: a transaction is already open; op.transaction is for migrations declared " ..
      "`transactional = false` and for op.autocommit_block", 2)
  end
  host.transaction(fn)
end

function op.in_transaction() return host.in_transaction() end

---------------------------------------------------------------------------------------------------------------
-- Reading data. Rows are tables keyed by column name. Types: integer and float columns become numbers (a bigint
-- beyond 2^53 stays a string, exactly), booleans become booleans, NULL becomes op.NULL (a table cannot hold nil),
-- numeric, text, dates, json and everything else are strings. op.query_value returns nil for NULL.

local function check_query(fname, sql)
  if is_text(sql) then return sql.sql end
  if type(sql) ~= "string" then error(fname .. ": expected a SQL string, got " .. type(sql), 3) end
  return sql
end

-- Iterator over the rows, streamed through a cursor: memory stays flat whatever the row count.
function op.query(sql, ...)
  sql = check_query("op.query", sql)
  local stream = host.query(sql, ...)
  return function() return stream:next() end
end

function op.query_one(sql, ...)
  sql = check_query("op.query_one", sql)
  local stream = host.query(sql, ...)
  local row = stream:next()
  stream:close()
  return row
end

function op.query_value(sql, ...)
  sql = check_query("op.query_value", sql)
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
function op.f(name)
  check_name("op.f", "name", name)
  return name
end
-- Alembic's op.inline_literal(value): the value as an SQL literal, for op.execute text.
function op.inline_literal(v) return op.text(D.literal(v)) end

-- For the stdlib (luamig.backfill): a monotonic clock in seconds, progress output, the running call's context.
op._clock = host.clock
op._stderr_is_tty = host.stderr_is_tty
op._progress = host.progress
op._call_context = host.call_context
op._pg_array = host.pg_array
op._query_all = host.query_all
op._send = host.send
op._wait_sent = host.wait_sent

op.types = host.engine_module("types")
op.batch_alter_table = host.engine_module("batch", host, op, D)

return op
