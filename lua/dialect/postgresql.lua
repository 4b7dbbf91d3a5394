-- PostgreSQL: renders op records (docs/ops-plan.md) to SQL statements, following the interface of
-- lua/dialect/interface.lua. Pure functions from data to strings. lua/dialect/sqlite.lua builds on this module.
local _, values = ...
local D = {}
D.name = "postgresql"
D.caps = {
  transactional_ddl = true,
  default_in_values = true,
  max_params = 65535,
  rebuild = false,
  copy = true,
  array_params = true,
  bool_encoding = { [true] = "true", [false] = "false" },
  plain_backslashes = false,
  comments = true,
  values_aliases = true,
  catalog = {
    unique_key = [[SELECT 1 FROM pg_catalog.pg_index i
      JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
      WHERE i.indrelid = $1::regclass AND i.indisunique AND i.indnatts = 1 AND i.indpred IS NULL
        AND i.indexprs IS NULL AND a.attname = $2 LIMIT 1]],
    column_types = [[SELECT a.attname AS name, pg_catalog.format_type(a.atttypid, a.atttypmod) AS type
      FROM pg_catalog.pg_attribute a WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped]],
    row_estimate = "SELECT c.reltuples::bigint FROM pg_catalog.pg_class c WHERE c.oid = to_regclass($1)",
  },
}
D.NULL = values.NULL
D.is_text = values.is_text
D.NULL_DEFAULT = values.NULL_DEFAULT
local type, tostring, error, concat, format = type, tostring, error, table.concat, string.format

function D.quote_ident(name)
  if type(name) ~= "string" then error("identifier must be a string, got " .. type(name), 3) end
  if name:find("\0", 1, true) then error("identifier contains a NUL byte", 3) end
  return '"' .. name:gsub('"', '""') .. '"'
end
local q = D.quote_ident

function D.qualify(name, opts)
  if opts and opts.schema then return q(opts.schema) .. "." .. q(name) end
  return q(name)
end
local qualify = D.qualify

-- A Lua value as an SQL literal. Strings with a backslash take the E'' form, so the text survives whatever
-- standard_conforming_strings says (the same rule as the engine's own quote_literal).
function D.literal(v)
  local t = type(v)
  if v == nil or v == D.NULL then return "NULL" end
  if t == "string" then
    if v:find("\0", 1, true) then error("string literal contains a NUL byte", 3) end
    if v:find("\\", 1, true) and not D.caps.plain_backslashes then
      return "E'" .. v:gsub("\\", "\\\\"):gsub("'", "''") .. "'"
    end
    return "'" .. v:gsub("'", "''") .. "'"
  elseif t == "number" then
    if v ~= v or v == math.huge or v == -math.huge then return "'" .. tostring(v) .. "'" end
    if v == math.floor(v) and math.abs(v) < 2^53 then return format("%d", v) end
    -- The shortest form that reads back as the same number, without an exponent where a few decimals do:
    -- 0.00001, not 1.0000000000000001e-05 nor 1e-05.
    for decimals = 1, math.abs(v) < 1e15 and 20 or 0 do
      local s = format("%." .. decimals .. "f", v)
      if tonumber(s) == v then return s end
    end
    for digits = 15, 16 do
      local s = format("%." .. digits .. "g", v)
      if tonumber(s) == v then return s end
    end
    return format("%.17g", v)
  elseif t == "boolean" then
    return v and "true" or "false"
  elseif D.is_text(v) then
    return v.sql
  end
  error("cannot turn a " .. t .. " into an SQL literal", 3)
end
local literal = D.literal

local function ident_list(cols)
  local out = {}
  for i, c in ipairs(cols) do out[i] = q(c) end
  return concat(out, ", ")
end
D.ident_list = ident_list

-- A column's type: a raw string passes through; generic types are tables { generic = "string", length = 20 }.
function D.column_type(t)
  if type(t) == "string" then return t end
  if D.is_text(t) then return t.sql end
  if type(t) == "table" and t.generic then return D.generic_type(t) end
  error("column type must be a string, got " .. type(t), 4)
end

local generic = {
  string = function(t) return t.length and format("varchar(%d)", t.length) or "varchar" end,
  text = function() return "text" end,
  integer = function() return "integer" end,
  bigint = function() return "bigint" end,
  smallint = function() return "smallint" end,
  boolean = function() return "boolean" end,
  float = function() return "double precision" end,
  numeric = function(t) return t.precision and format("numeric(%d, %d)", t.precision, t.scale or 0) or "numeric" end,
  date = function() return "date" end,
  timestamp = function(t) return t.timezone and "timestamp with time zone" or "timestamp without time zone" end,
  json = function() return "jsonb" end,
  uuid = function() return "uuid" end,
  binary = function() return "bytea" end,
  serial = function() return "serial" end,
  bigserial = function() return "bigserial" end,
}
function D.generic_type(t)
  local f = generic[t.generic]
  if not f then error("unknown generic type '" .. tostring(t.generic) .. "'", 4) end
  return f(t)
end

local function reference(col)
  local ref = col.references
  local tbl, cols
  if type(ref) == "string" then tbl, cols = ref:match("^%s*([^%(]-)%s*%((.-)%)%s*$") end
  if not tbl or tbl == "" or not cols:find("%S") then
    error("column '" .. col[1] .. "': references must look like \"table(column)\" or \"schema.table(column)\"", 4)
  end
  local parts = {}
  for c in cols:gmatch("[^,%s]+") do parts[#parts + 1] = q(c) end
  local schema, name = tbl:match("^(.-)%.(.+)$")
  local target = schema and (q(schema) .. "." .. q(name)) or q(tbl)
  local sql = " REFERENCES " .. target .. " (" .. concat(parts, ", ") .. ")"
  if col.ondelete then sql = sql .. " ON DELETE " .. D.fk_action(col.ondelete) end
  if col.onupdate then sql = sql .. " ON UPDATE " .. D.fk_action(col.onupdate) end
  return sql
end

local fk_actions = { CASCADE = true, ["SET NULL"] = true, ["SET DEFAULT"] = true, RESTRICT = true, ["NO ACTION"] = true }
function D.fk_action(a)
  local up = tostring(a):upper()
  if not fk_actions[up] then error("unknown foreign key action '" .. tostring(a) .. "'", 4) end
  return up
end

-- identity = true | "always" | "by default": an identity column (GENERATED ... AS IDENTITY).
local function identity_sql(v)
  if v == true or v == "by default" then return "GENERATED BY DEFAULT AS IDENTITY" end
  if v == "always" then return "GENERATED ALWAYS AS IDENTITY" end
  error("identity must be true, \"always\" or \"by default\", got " .. tostring(v), 5)
end

function D.column_def(col)
  local parts = { q(col[1]), D.column_type(col[2]) }
  if col.identity then parts[#parts + 1] = identity_sql(col.identity) end
  if col.default ~= nil then parts[#parts + 1] = "DEFAULT " .. literal(col.default) end
  if col.nullable == false then parts[#parts + 1] = "NOT NULL" end
  if col.primary_key == true and not col._table_pk then parts[#parts + 1] = "PRIMARY KEY" end
  -- unique + index: a unique index is created instead (as SQLAlchemy does).
  if col.unique and not col.index then parts[#parts + 1] = "UNIQUE" end
  if col.check then parts[#parts + 1] = "CHECK (" .. tostring(col.check) .. ")" end
  local sql = concat(parts, " ")
  if col.references then sql = sql .. reference(col) end
  return sql
end

local function comment_sql(kind, target, comment)
  return "COMMENT ON " .. kind .. " " .. target .. " IS " .. (comment == nil and "NULL" or literal(comment))
end

-- SQLAlchemy's name for a column's index = true: ix_<table>_<column>.
function D.column_index_name(tbl, column) return "ix_" .. tbl .. "_" .. column end

function D.add_column(tbl, col, opts)
  local out = { "ALTER TABLE " .. qualify(tbl, opts) .. " ADD COLUMN " .. (opts.if_not_exists and "IF NOT EXISTS " or "") .. D.column_def(col) }
  if col.comment then out[2] = comment_sql("COLUMN", qualify(tbl, opts) .. "." .. q(col[1]), col.comment) end
  return out
end

function D.drop_column(tbl, name, opts)
  return { "ALTER TABLE " .. qualify(tbl, opts) .. " DROP COLUMN " .. (opts.if_exists and "IF EXISTS " or "") .. q(name) .. (opts.cascade and " CASCADE" or "") }
end

local function deferral(c)
  local sql = ""
  if c.deferrable ~= nil then sql = sql .. (c.deferrable and " DEFERRABLE" or " NOT DEFERRABLE") end
  if c.initially then
    local when = tostring(c.initially):upper()
    if when ~= "DEFERRED" and when ~= "IMMEDIATE" then
      error("initially must be \"DEFERRED\" or \"IMMEDIATE\", got " .. tostring(c.initially), 5)
    end
    sql = sql .. " INITIALLY " .. when
  end
  return sql
end

local fk_match = { FULL = true, SIMPLE = true, PARTIAL = true }

function D.constraint_def(c)
  local prefix = c.name and ("CONSTRAINT " .. q(c.name) .. " ") or ""
  if c.constraint == "primary_key" then
    return prefix .. "PRIMARY KEY (" .. ident_list(c.columns) .. ")"
  elseif c.constraint == "unique" then
    return prefix .. "UNIQUE (" .. ident_list(c.columns) .. ")" .. deferral(c)
  elseif c.constraint == "check" then
    return prefix .. "CHECK (" .. c.condition .. ")" .. (c.not_valid and " NOT VALID" or "")
  elseif c.constraint == "foreign_key" then
    local target = c.referent_schema and (q(c.referent_schema) .. "." .. q(c.referent)) or q(c.referent)
    local sql = prefix .. "FOREIGN KEY (" .. ident_list(c.columns) .. ") REFERENCES " .. target ..
      " (" .. ident_list(c.remote_columns) .. ")"
    if c.match then
      local m = tostring(c.match):upper()
      if not fk_match[m] then error("match must be FULL, SIMPLE or PARTIAL, got " .. tostring(c.match), 5) end
      sql = sql .. " MATCH " .. m
    end
    if c.ondelete then sql = sql .. " ON DELETE " .. D.fk_action(c.ondelete) end
    if c.onupdate then sql = sql .. " ON UPDATE " .. D.fk_action(c.onupdate) end
    sql = sql .. deferral(c)
    if c.not_valid then sql = sql .. " NOT VALID" end
    return sql
  end
  error("unknown constraint kind '" .. tostring(c.constraint) .. "'", 4)
end

function D.create_table(name, columns, constraints, opts)
  local defs = {}
  local pk = {}
  for _, col in ipairs(columns) do
    if col.primary_key then pk[#pk + 1] = col[1] end
  end
  local composite_pk = #pk > 1
  for _, col in ipairs(columns) do
    if composite_pk and col.primary_key then
      local copy = {}
      for k, v in pairs(col) do copy[k] = v end
      copy._table_pk = true
      col = copy
    end
    defs[#defs + 1] = D.column_def(col)
  end
  if composite_pk then defs[#defs + 1] = "PRIMARY KEY (" .. ident_list(pk) .. ")" end
  for _, c in ipairs(constraints) do defs[#defs + 1] = D.constraint_def(c) end
  local target = qualify(name, opts)
  local out = { "CREATE TABLE " .. (opts.if_not_exists and "IF NOT EXISTS " or "") .. target .. " (\n    " .. concat(defs, ",\n    ") .. "\n)" }
  if opts.comment then out[#out + 1] = comment_sql("TABLE", target, opts.comment) end
  for _, col in ipairs(columns) do
    if col.comment then out[#out + 1] = comment_sql("COLUMN", target .. "." .. q(col[1]), col.comment) end
  end
  return out
end

function D.drop_table(name, opts)
  return { "DROP TABLE " .. (opts.if_exists and "IF EXISTS " or "") .. qualify(name, opts) .. (opts.cascade and " CASCADE" or "") }
end

function D.rename_table(old, new, opts)
  return { "ALTER TABLE " .. qualify(old, opts) .. " RENAME TO " .. q(new) }
end

function D.alter_column(tbl, name, opts)
  local target = "ALTER TABLE " .. qualify(tbl, opts)
  local out = {}
  local col = q(name)
  if opts.type ~= nil then
    local sql = target .. " ALTER COLUMN " .. col .. " TYPE " .. D.column_type(opts.type)
    if opts.using ~= nil then
      local using = D.is_text(opts.using) and opts.using.sql or opts.using
      if type(using) ~= "string" then error("op.alter_column: using must be SQL text (a string or op.text)", 4) end
      sql = sql .. " USING " .. using
    end
    out[#out + 1] = sql
  end
  if opts.nullable ~= nil then
    out[#out + 1] = target .. " ALTER COLUMN " .. col .. (opts.nullable and " DROP NOT NULL" or " SET NOT NULL")
  end
  if opts.default ~= nil then
    if opts.default == D.NULL_DEFAULT then
      out[#out + 1] = target .. " ALTER COLUMN " .. col .. " DROP DEFAULT"
    else
      out[#out + 1] = target .. " ALTER COLUMN " .. col .. " SET DEFAULT " .. literal(opts.default)
    end
  end
  if opts.comment ~= nil then
    -- comment = false (or op.NULL) removes it.
    local text = opts.comment
    if text == false or text == D.NULL then text = nil end
    if text ~= nil and type(text) ~= "string" then error("op.alter_column: comment must be a string or false", 4) end
    out[#out + 1] = comment_sql("COLUMN", qualify(tbl, opts) .. "." .. col, text)
  end
  if opts.new_name ~= nil then
    out[#out + 1] = target .. " RENAME COLUMN " .. col .. " TO " .. q(opts.new_name)
  end
  if #out == 0 then error("op.alter_column: nothing to change (give type, nullable, default, comment or new_name)", 4) end
  return out
end

function D.create_index(name, tbl, columns, opts)
  local exprs = {}
  for i, c in ipairs(columns) do
    if D.is_text(c) then exprs[i] = c.sql else exprs[i] = q(c) end
  end
  local sql = "CREATE " .. (opts.unique and "UNIQUE " or "") .. "INDEX " .. (opts.concurrently and "CONCURRENTLY " or "") ..
    (opts.if_not_exists and "IF NOT EXISTS " or "") .. q(name) .. " ON " .. qualify(tbl, opts)
  if opts.using then
    -- The string checked is the string spliced: a table whose __tostring and __concat disagree cannot slip past.
    local method = opts.using
    if type(method) ~= "string" or not method:match("^[%a_][%w_]*$") then
      error("op.create_index: bad index method '" .. tostring(method) .. "' (a name such as btree, gin, gist)", 4)
    end
    sql = sql .. " USING " .. method
  end
  sql = sql .. " (" .. concat(exprs, ", ") .. ")"
  if opts.include then sql = sql .. " INCLUDE (" .. ident_list(opts.include) .. ")" end
  if opts.where then sql = sql .. " WHERE " .. tostring(opts.where) end
  return { sql }
end

function D.drop_index(name, opts, _table_name)
  return { "DROP INDEX " .. (opts.concurrently and "CONCURRENTLY " or "") .. (opts.if_exists and "IF EXISTS " or "") ..
    qualify(name, opts) .. (opts.cascade and " CASCADE" or "") }
end

function D.add_constraint(tbl, c, opts)
  return { "ALTER TABLE " .. qualify(tbl, opts) .. " ADD " .. D.constraint_def(c) }
end

function D.drop_constraint(name, tbl, opts)
  return { "ALTER TABLE " .. qualify(tbl, opts) .. " DROP CONSTRAINT " .. (opts.if_exists and "IF EXISTS " or "") ..
    q(name) .. (opts.cascade and " CASCADE" or "") }
end

function D.table_comment(tbl, comment, opts)
  return { comment_sql("TABLE", qualify(tbl, opts), comment) }
end

-- One INSERT for rows[first..last], values bound as parameters ($n); a column a row leaves out is DEFAULT.
-- Returns the SQL and the parameters (params.n of them).
function D.insert_rows(tbl, cols, rows, first, last, opts)
  local params, tuples = {}, {}
  local n = 0
  for i = first, last do
    local row = rows[i]
    local slots = {}
    for j, c in ipairs(cols) do
      local v = row[c]
      if v == nil then
        slots[j] = "DEFAULT"
      elseif D.is_text(v) then
        slots[j] = v.sql
      else
        n = n + 1
        params[n] = v
        slots[j] = "$" .. n
      end
    end
    tuples[#tuples + 1] = "(" .. concat(slots, ", ") .. ")"
  end
  params.n = n
  return "INSERT INTO " .. qualify(tbl, opts) .. " (" .. ident_list(cols) .. ") VALUES " .. concat(tuples, ", "), params
end

---------------------------------------------------------------------------------------------------------------
-- Renderers: one per record kind. They call the functions above through D, so a dialect built on this module
-- (SQLite) changes what it overrides and keeps the rest.

local R = {}
D.render = R

local function append(out, more)
  for _, sql in ipairs(more) do out[#out + 1] = sql end
  return out
end

-- A column with index = true gets an index named as SQLAlchemy names it (ix_<table>_<column>), as Alembic's
-- create_table does; unique + index is a unique index instead of a unique constraint.
local function column_index(tbl, col, schema)
  return D.create_index(D.column_index_name(tbl, col[1]), tbl, { col[1] },
    { unique = col.unique and true or nil, schema = schema })
end

function R.create_table(r)
  local out = D.create_table(r.table, r.columns, r.constraints, r)
  for _, col in ipairs(r.columns) do
    if col.index then append(out, column_index(r.table, col, r.schema)) end
  end
  return out
end
function R.add_column(r)
  local out = D.add_column(r.table, r.column, r)
  if r.column.index then append(out, column_index(r.table, r.column, r.schema)) end
  return out
end
function R.drop_column(r) return D.drop_column(r.table, r.column, r) end
function R.drop_table(r) return D.drop_table(r.table, r) end
function R.rename_table(r) return D.rename_table(r.table, r.new_name, r) end
function R.alter_column(r) return D.alter_column(r.table, r.column, r) end
function R.rename_column(r) return D.alter_column(r.table, r.column, { new_name = r.new_name, schema = r.schema }) end
function R.create_table_comment(r) return D.table_comment(r.table, r.comment, r) end
function R.drop_table_comment(r) return D.table_comment(r.table, nil, r) end
function R.create_index(r) return D.create_index(r.name, r.table, r.columns, r) end
function R.drop_index(r) return D.drop_index(r.name, r, r.table) end
-- A constraint record is its own constraint table (constraint = "foreign_key", name, columns, ...).
function R.create_primary_key(r) return D.add_constraint(r.table, r, r) end
R.create_unique_constraint = R.create_primary_key
R.create_foreign_key = R.create_primary_key
R.create_check_constraint = R.create_primary_key
function R.drop_constraint(r) return D.drop_constraint(r.name, r.table, r) end

-- Multi-row INSERTs, at most caps.max_params parameters (and 1000 rows) each. Without DEFAULT inside VALUES
-- (SQLite), each run of rows with the same columns is one INSERT naming just those.
function R.bulk_insert(r)
  local rows, out = r.rows, {}
  local function insert(cols_, first, last)
    local batch = math.max(1, math.min(1000, math.floor(D.caps.max_params / #cols_)))
    for from = first, last, batch do
      local sql, params = D.insert_rows(r.table, cols_, rows, from, math.min(from + batch - 1, last), r)
      out[#out + 1] = { sql = sql, params = params }
    end
  end
  if D.caps.default_in_values then
    insert(r.columns, 1, #rows)
    return out
  end
  local function columns_of(row)
    local c = {}
    for k in pairs(row) do c[#c + 1] = k end
    table.sort(c)
    return c, concat(c, "\0")
  end
  local i = 1
  while i <= #rows do
    local c, sig = columns_of(rows[i])
    local j = i
    while j < #rows and select(2, columns_of(rows[j + 1])) == sig do j = j + 1 end
    if #c == 0 then
      for _ = i, j do out[#out + 1] = "INSERT INTO " .. D.qualify(r.table, r) .. " DEFAULT VALUES" end
    else
      insert(c, i, j)
    end
    i = j + 1
  end
  return out
end

function R.copy_rows(r)
  local quoted = {}
  for i, c in ipairs(r.columns) do quoted[i] = D.quote_ident(c) end
  local target = D.qualify(r.table, r)
  return { { sql = "COPY " .. target .. " (" .. concat(quoted, ", ") .. ") FROM STDIN",
    copy = { table = target, columns = quoted, rows = r.rows } } }
end

-- Without table rebuilds, a batch is its changes, each rendered on its own, in order.
function R.batch_alter_table(r)
  local out = {}
  for _, change in ipairs(r.changes) do append(out, R[change.kind](change)) end
  return out
end

return D
