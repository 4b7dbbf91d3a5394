-- The `op` API migrations call. Each operation validates its arguments, asks the dialect for SQL, and hands
-- every statement to the host (which executes it, or prints it in --sql mode).
local host = ...
local D = host.engine_module("dialect/" .. host.dialect, host)

local op = {}
local type, error, select, tostring, ipairs = type, error, select, tostring, ipairs

op.NULL = host.NULL
op.dialect = host.dialect

local TextMT = { __tostring = function(t) return t.sql end }
-- Raw SQL, for defaults and index expressions: op.text("now()").
function op.text(sql)
  if type(sql) ~= "string" then error("op.text: expected a string of SQL, got " .. type(sql), 2) end
  return setmetatable({ sql = sql }, TextMT)
end
D.is_text = function(v) return getmetatable(v) == TextMT end

op.NULL_DEFAULT = setmetatable({}, { __tostring = function() return "op.NULL_DEFAULT" end })
D.NULL_DEFAULT = op.NULL_DEFAULT

local function run(statements)
  for _, sql in ipairs(statements) do host.execute(sql) end
end
op._run = run

local function check_name(fname, what, v)
  if type(v) ~= "string" or v == "" then
    error(fname .. ": " .. what .. " must be a non-empty string, got " .. type(v), 3)
  end
end

local function check_opts(fname, opts)
  if opts == nil then return {} end
  if type(opts) ~= "table" then error(fname .. ": options must be a table, got " .. type(opts), 3) end
  return opts
end

local function check_column(fname, col)
  if type(col) ~= "table" then error(fname .. ": a column is a table { \"name\", \"type\", ... }, got " .. type(col), 3) end
  if type(col[1]) ~= "string" or col[1] == "" then error(fname .. ": column name (first element) must be a string", 3) end
  if col[2] == nil then error(fname .. ": column '" .. col[1] .. "' has no type (second element)", 3) end
end

function op.execute(sql, ...)
  if type(sql) ~= "string" then error("op.execute: expected a SQL string, got " .. type(sql), 2) end
  return host.execute(sql, ...)
end

function op.add_column(table_name, column, opts)
  check_name("op.add_column", "table name", table_name)
  check_column("op.add_column", column)
  run(D.add_column(table_name, column, check_opts("op.add_column", opts)))
end

function op.drop_column(table_name, column_name, opts)
  check_name("op.drop_column", "table name", table_name)
  check_name("op.drop_column", "column name", column_name)
  run(D.drop_column(table_name, column_name, check_opts("op.drop_column", opts)))
end

-- op.create_table(name, column..., constraint..., [options])
function op.create_table(name, ...)
  check_name("op.create_table", "table name", name)
  local columns, constraints, opts = {}, {}, {}
  local n = select("#", ...)
  for i = 1, n do
    local item = select(i, ...)
    if type(item) ~= "table" then error("op.create_table: argument " .. (i + 1) .. " must be a table, got " .. type(item), 2) end
    if item.constraint then
      constraints[#constraints + 1] = item
    elseif type(item[1]) == "string" then
      check_column("op.create_table", item)
      columns[#columns + 1] = item
    elseif i == n then
      opts = item
      for _, c in ipairs(item) do constraints[#constraints + 1] = c end
    else
      error("op.create_table: argument " .. (i + 1) .. " is neither a column nor a constraint", 2)
    end
  end
  if #columns == 0 then error("op.create_table: table '" .. name .. "' needs at least one column", 2) end
  run(D.create_table(name, columns, constraints, opts))
end

function op.drop_table(name, opts)
  check_name("op.drop_table", "table name", name)
  run(D.drop_table(name, check_opts("op.drop_table", opts)))
end

function op.rename_table(old, new, opts)
  check_name("op.rename_table", "old name", old)
  check_name("op.rename_table", "new name", new)
  run(D.rename_table(old, new, check_opts("op.rename_table", opts)))
end

function op.alter_column(table_name, column_name, opts)
  check_name("op.alter_column", "table name", table_name)
  check_name("op.alter_column", "column name", column_name)
  run(D.alter_column(table_name, column_name, check_opts("op.alter_column", opts)))
end

function op.rename_column(table_name, old, new, opts)
  check_name("op.rename_column", "table name", table_name)
  check_name("op.rename_column", "old name", old)
  check_name("op.rename_column", "new name", new)
  local o = {}
  for k, v in pairs(check_opts("op.rename_column", opts)) do o[k] = v end
  o.new_name = new
  run(D.alter_column(table_name, old, o))
end

function op.create_index(name, table_name, columns, opts)
  check_name("op.create_index", "index name", name)
  check_name("op.create_index", "table name", table_name)
  if type(columns) == "string" then columns = { columns } end
  if type(columns) ~= "table" or #columns == 0 then error("op.create_index: columns must be a non-empty list", 2) end
  run(D.create_index(name, table_name, columns, check_opts("op.create_index", opts)))
end

function op.drop_index(name, opts)
  check_name("op.drop_index", "index name", name)
  run(D.drop_index(name, check_opts("op.drop_index", opts)))
end

local function column_list(fname, cols)
  if type(cols) == "string" then cols = { cols } end
  if type(cols) ~= "table" or #cols == 0 then error(fname .. ": columns must be a non-empty list", 3) end
  return cols
end

function op.create_primary_key(name, table_name, columns, opts)
  check_name("op.create_primary_key", "table name", table_name)
  run(D.add_constraint(table_name, { constraint = "primary_key", name = name,
    columns = column_list("op.create_primary_key", columns) }, check_opts("op.create_primary_key", opts)))
end

function op.create_unique_constraint(name, table_name, columns, opts)
  check_name("op.create_unique_constraint", "table name", table_name)
  run(D.add_constraint(table_name, { constraint = "unique", name = name,
    columns = column_list("op.create_unique_constraint", columns) }, check_opts("op.create_unique_constraint", opts)))
end

function op.create_foreign_key(name, source, referent, local_cols, remote_cols, opts)
  check_name("op.create_foreign_key", "source table", source)
  check_name("op.create_foreign_key", "referent table", referent)
  opts = check_opts("op.create_foreign_key", opts)
  run(D.add_constraint(source, { constraint = "foreign_key", name = name,
    columns = column_list("op.create_foreign_key", local_cols), referent = referent,
    referent_schema = opts.referent_schema,
    remote_columns = column_list("op.create_foreign_key", remote_cols), ondelete = opts.ondelete,
    onupdate = opts.onupdate, deferrable = opts.deferrable, initially = opts.initially,
    not_valid = opts.not_valid }, opts))
end

function op.create_check_constraint(name, table_name, condition, opts)
  check_name("op.create_check_constraint", "table name", table_name)
  if type(condition) ~= "string" and not D.is_text(condition) then
    error("op.create_check_constraint: condition must be SQL text", 2)
  end
  run(D.add_constraint(table_name, { constraint = "check", name = name, condition = tostring(condition) },
    check_opts("op.create_check_constraint", opts)))
end

function op.drop_constraint(name, table_name, opts)
  check_name("op.drop_constraint", "constraint name", name)
  check_name("op.drop_constraint", "table name", table_name)
  run(D.drop_constraint(name, table_name, check_opts("op.drop_constraint", opts)))
end

function op.create_table_comment(table_name, comment, opts)
  check_name("op.create_table_comment", "table name", table_name)
  run(D.table_comment(table_name, comment, check_opts("op.create_table_comment", opts)))
end

function op.drop_table_comment(table_name, opts)
  check_name("op.drop_table_comment", "table name", table_name)
  run(D.table_comment(table_name, nil, check_opts("op.drop_table_comment", opts)))
end

-- Constraint constructors for op.create_table.
function op.primary_key(columns, name) return { constraint = "primary_key", columns = column_list("op.primary_key", columns), name = name } end
function op.unique(columns, name) return { constraint = "unique", columns = column_list("op.unique", columns), name = name } end
function op.check(condition, name) return { constraint = "check", condition = tostring(condition), name = name } end
function op.foreign_key(columns, referent, remote_columns, opts)
  opts = opts or {}
  return { constraint = "foreign_key", columns = column_list("op.foreign_key", columns), referent = referent,
    remote_columns = column_list("op.foreign_key", remote_columns), name = opts.name, ondelete = opts.ondelete,
    onupdate = opts.onupdate, deferrable = opts.deferrable, initially = opts.initially, referent_schema = opts.referent_schema }
end

function op.bulk_insert(table_name, rows, opts)
  check_name("op.bulk_insert", "table name", table_name)
  if type(rows) ~= "table" then error("op.bulk_insert: rows must be a list of tables", 2) end
  opts = check_opts("op.bulk_insert", opts)
  if #rows == 0 then return 0 end
  -- Column set: the union of keys in first-seen order.
  local cols, seen = {}, {}
  for i, row in ipairs(rows) do
    if type(row) ~= "table" then error("op.bulk_insert: row " .. i .. " is not a table", 2) end
    for k in pairs(row) do
      if type(k) ~= "string" then error("op.bulk_insert: row " .. i .. " has a non-string key", 2) end
      if not seen[k] then seen[k] = true; cols[#cols + 1] = k end
    end
  end
  table.sort(cols)
  local total = 0
  local batch = 500
  for first = 1, #rows, batch do
    local last = math.min(first + batch - 1, #rows)
    local sql, params = D.insert_rows(table_name, cols, rows, first, last, opts)
    total = total + host.execute(sql, unpack(params))
  end
  return total
end

function op.autocommit_block(fn)
  if type(fn) ~= "function" then error("op.autocommit_block: expected a function", 2) end
  host.autocommit_block(fn)
end

-- Reading data: op.query returns an iterator of rows (tables keyed by column name; NULL is op.NULL).
function op.query(sql, ...)
  if type(sql) ~= "string" then error("op.query: expected a SQL string, got " .. type(sql), 2) end
  local stream = host.query(sql, ...)
  return function() return stream:next() end
end

function op.query_one(sql, ...)
  if type(sql) ~= "string" then error("op.query_one: expected a SQL string, got " .. type(sql), 2) end
  local stream = host.query(sql, ...)
  local row = stream:next()
  stream:close()
  return row
end

function op.query_value(sql, ...)
  if type(sql) ~= "string" then error("op.query_value: expected a SQL string, got " .. type(sql), 2) end
  local stream = host.query(sql, ...)
  local cols = stream:columns()
  local row = stream:next()
  stream:close()
  if not row then return nil end
  local v = row[cols[1]]
  if v == op.NULL then return nil end
  return v
end

op.types = host.engine_module("types")
op.batch_alter_table = host.engine_module("batch", host, op, D)

op.quote_ident = D.quote_ident
op.literal = D.literal

return op
