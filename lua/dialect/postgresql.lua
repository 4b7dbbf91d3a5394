-- PostgreSQL: renders operations to SQL statements. Pure functions from data to strings.
local host = ...
local D = {}
D.NULL = host.NULL
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

function D.literal(v)
  local t = type(v)
  if v == nil then return "NULL" end
  if t == "string" then
    if v:find("\0", 1, true) then error("string literal contains a NUL byte", 3) end
    return "'" .. v:gsub("'", "''") .. "'"
  elseif t == "number" then
    if v ~= v or v == math.huge or v == -math.huge then return "'" .. tostring(v) .. "'" end
    if v == math.floor(v) and math.abs(v) < 2^53 then return format("%d", v) end
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
  local tbl, cols = ref:match("^%s*([^%(]-)%s*%((.-)%)%s*$")
  if not tbl then error("column '" .. col[1] .. "': references must look like \"table(column)\"", 4) end
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

function D.column_def(col)
  local parts = { q(col[1]), D.column_type(col[2]) }
  if col.default ~= nil then parts[#parts + 1] = "DEFAULT " .. literal(col.default) end
  if col.nullable == false then parts[#parts + 1] = "NOT NULL" end
  if col.primary_key == true and not col._table_pk then parts[#parts + 1] = "PRIMARY KEY" end
  if col.unique then parts[#parts + 1] = "UNIQUE" end
  if col.check then parts[#parts + 1] = "CHECK (" .. tostring(col.check) .. ")" end
  local sql = concat(parts, " ")
  if col.references then sql = sql .. reference(col) end
  return sql
end

local function comment_sql(kind, target, comment)
  return "COMMENT ON " .. kind .. " " .. target .. " IS " .. (comment == nil and "NULL" or literal(comment))
end

function D.add_column(tbl, col, opts)
  local out = { "ALTER TABLE " .. qualify(tbl, opts) .. " ADD COLUMN " .. (opts.if_not_exists and "IF NOT EXISTS " or "") .. D.column_def(col) }
  if col.comment then out[2] = comment_sql("COLUMN", qualify(tbl, opts) .. "." .. q(col[1]), col.comment) end
  return out
end

function D.drop_column(tbl, name, opts)
  return { "ALTER TABLE " .. qualify(tbl, opts) .. " DROP COLUMN " .. (opts.if_exists and "IF EXISTS " or "") .. q(name) .. (opts.cascade and " CASCADE" or "") }
end

function D.constraint_def(c)
  local prefix = c.name and ("CONSTRAINT " .. q(c.name) .. " ") or ""
  if c.constraint == "primary_key" then
    return prefix .. "PRIMARY KEY (" .. ident_list(c.columns) .. ")"
  elseif c.constraint == "unique" then
    return prefix .. "UNIQUE (" .. ident_list(c.columns) .. ")"
  elseif c.constraint == "check" then
    return prefix .. "CHECK (" .. c.condition .. ")"
  elseif c.constraint == "foreign_key" then
    local target = c.referent_schema and (q(c.referent_schema) .. "." .. q(c.referent)) or q(c.referent)
    local sql = prefix .. "FOREIGN KEY (" .. ident_list(c.columns) .. ") REFERENCES " .. target ..
      " (" .. ident_list(c.remote_columns) .. ")"
    if c.ondelete then sql = sql .. " ON DELETE " .. D.fk_action(c.ondelete) end
    if c.onupdate then sql = sql .. " ON UPDATE " .. D.fk_action(c.onupdate) end
    if c.deferrable ~= nil then sql = sql .. (c.deferrable and " DEFERRABLE" or " NOT DEFERRABLE") end
    if c.initially then sql = sql .. " INITIALLY " .. (tostring(c.initially):upper() == "DEFERRED" and "DEFERRED" or "IMMEDIATE") end
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
    if opts.using then sql = sql .. " USING " .. tostring(opts.using) end
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
    out[#out + 1] = comment_sql("COLUMN", qualify(tbl, opts) .. "." .. col, opts.comment ~= false and opts.comment or nil)
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
    if not tostring(opts.using):match("^[%a_][%w_]*$") then error("op.create_index: bad index method '" .. tostring(opts.using) .. "'", 4) end
    sql = sql .. " USING " .. opts.using
  end
  sql = sql .. " (" .. concat(exprs, ", ") .. ")"
  if opts.include then sql = sql .. " INCLUDE (" .. ident_list(opts.include) .. ")" end
  if opts.where then sql = sql .. " WHERE " .. tostring(opts.where) end
  return { sql }
end

function D.drop_index(name, opts)
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

-- One INSERT for rows[first..last], values bound as parameters.
function D.insert_rows(tbl, cols, rows, first, last, opts)
  local params, tuples = {}, {}
  local n = 0
  for i = first, last do
    local row = rows[i]
    local slots = {}
    for j, c in ipairs(cols) do
      local v = row[c]
      if D.is_text(v) then
        slots[j] = v.sql
      else
        n = n + 1
        params[n] = v == nil and D.NULL or v
        slots[j] = "$" .. n
      end
    end
    tuples[#tuples + 1] = "(" .. concat(slots, ", ") .. ")"
  end
  return "INSERT INTO " .. qualify(tbl, opts) .. " (" .. ident_list(cols) .. ") VALUES " .. concat(tuples, ", "), params
end

return D
