-- SQLite: the PostgreSQL renderer where the SQL is the same, and table rebuilds ("move and copy", as Alembic's
-- batch mode does) for what SQLite's ALTER TABLE cannot do: change a column's type, nullability or default, add or
-- drop a constraint. Interface: lua/dialect/interface.lua.
local host, values = ...
local D = host.engine_module("dialect/postgresql", host, values)
local pg = {}
for k, v in pairs(D) do pg[k] = v end
D.name = "sqlite"
D.caps = {
  transactional_ddl = true,
  -- op.bulk_insert: no DEFAULT inside VALUES, and at most 32766 bound parameters per statement.
  default_in_values = false,
  max_params = 32766,
  rebuild = true,
  copy = false,
  array_params = false,
  -- No boolean type: a boolean column has NUMERIC affinity, so booleans travel as 1/0 (as SQLAlchemy stores them).
  bool_encoding = { [true] = "1", [false] = "0" },
  -- No E'' strings: a backslash in a literal is just a backslash.
  plain_backslashes = true,
  comments = false,
  -- No column names on a VALUES alias: the backfill updates row by row (its fast path inside a transaction).
  values_aliases = false,
  -- No planner estimate of a table's rows; the backfill's key check and casts are PostgreSQL's so far.
  catalog = { unique_key = false, column_types = false, row_estimate = false },
}

local q, concat, format = D.quote_ident, table.concat, string.format

local generic = {
  string = function(t) return t.length and format("VARCHAR(%d)", t.length) or "VARCHAR" end,
  text = function() return "TEXT" end,
  integer = function() return "INTEGER" end,
  bigint = function() return "BIGINT" end,
  smallint = function() return "SMALLINT" end,
  boolean = function() return "BOOLEAN" end,
  float = function() return "FLOAT" end,
  numeric = function(t) return t.precision and format("NUMERIC(%d, %d)", t.precision, t.scale or 0) or "NUMERIC" end,
  date = function() return "DATE" end,
  timestamp = function() return "DATETIME" end,
  json = function() return "JSON" end,
  uuid = function() return "CHAR(36)" end,
  binary = function() return "BLOB" end,
  serial = function() return "INTEGER" end,
  bigserial = function() return "INTEGER" end,
}
function D.generic_type(t)
  local f = generic[t.generic]
  if not f then error("unknown generic type '" .. tostring(t.generic) .. "'", 4) end
  return f(t)
end

local function is_serial(col)
  local t = col[2]
  return type(t) == "table" and (t.generic == "serial" or t.generic == "bigserial")
end

function D.column_def(col)
  -- An auto-increment key must be spelled exactly INTEGER PRIMARY KEY in SQLite.
  if is_serial(col) and col.primary_key and not col._table_pk then
    return q(col[1]) .. " INTEGER PRIMARY KEY AUTOINCREMENT"
  end
  return pg.column_def(col)
end

-- SQLite has no comments: statements that set them are dropped.
local function without_comments(list)
  local out = {}
  for _, sql in ipairs(list) do
    if not sql:find("^COMMENT ON ") then out[#out + 1] = sql end
  end
  return out
end

function D.table_comment() return {} end

function D.add_column(tbl, col, opts)
  return without_comments(pg.add_column(tbl, col, opts))
end

function D.create_table(name, columns, constraints, opts)
  return without_comments(pg.create_table(name, columns, constraints, opts))
end

-- SQLite refuses to drop a column an index uses, and has no DROP COLUMN IF EXISTS or CASCADE. As PostgreSQL does,
-- drop the indexes on the column first; `if_exists` looks the column up.
function D.drop_column(tbl, name, opts)
  local out = {}
  local s = host.query("SELECT 1 AS found FROM pragma_table_info($1) WHERE name = $2", tbl, name)
  local exists = s:next() ~= nil
  s:close()
  if not exists and opts.if_exists then return out end
  s = host.query("SELECT DISTINCT il.name AS name FROM pragma_index_list($1) il, pragma_index_info(il.name) ii " ..
    "WHERE il.origin = 'c' AND ii.name = $2 ORDER BY 1", tbl, name)
  while true do
    local r = s:next()
    if not r then break end
    out[#out + 1] = "DROP INDEX " .. D.qualify(r.name, opts)
  end
  s:close()
  out[#out + 1] = "ALTER TABLE " .. D.qualify(tbl, opts) .. " DROP COLUMN " .. q(name)
  return out
end

function D.drop_table(name, opts)
  return { "DROP TABLE " .. (opts.if_exists and "IF EXISTS " or "") .. D.qualify(name, opts) }
end

function D.create_index(name, tbl, columns, opts)
  if opts.using then
    error("op.create_index: index method '" .. (type(opts.using) == "string" and opts.using or type(opts.using)) ..
      "' is not available on SQLite", 4)
  end
  if opts.include then error("op.create_index: INCLUDE columns are not available on SQLite", 4) end
  local exprs = {}
  for i, c in ipairs(columns) do exprs[i] = D.is_text(c) and c.sql or q(c) end
  -- SQLite has no concurrent index builds (a plain build is the equivalent) and puts the schema on the index.
  local sql = "CREATE " .. (opts.unique and "UNIQUE " or "") .. "INDEX " .. (opts.if_not_exists and "IF NOT EXISTS " or "") ..
    D.qualify(name, opts) .. " ON " .. q(tbl) .. " (" .. concat(exprs, ", ") .. ")"
  if opts.where then sql = sql .. " WHERE " .. (D.is_text(opts.where) and opts.where.sql or opts.where) end
  return { sql }
end

function D.drop_index(name, opts)
  return { "DROP INDEX " .. (opts.if_exists and "IF EXISTS " or "") .. D.qualify(name, opts) }
end

---------------------------------------------------------------------------------------------------------------
-- Table rebuilds

-- The stored DDL is read with a real tokenizer (lua/sqlite_ddl.lua): renames touch identifiers only, literals and
-- comments are carried over byte for byte, and a quoted name holding "(" or "," is one token.
local ddl = host.engine_module("sqlite_ddl")
local text, trim = ddl.text, ddl.trim

-- Reads the table's CREATE statement, indexes and triggers from the catalog.
local function describe(tbl)
  local stream = host.query("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = $1", tbl)
  local row = stream:next()
  stream:close()
  if not row then error("table '" .. tbl .. "' does not exist", 5) end
  local info = ddl.parse_table(row.sql)
  for _, c in ipairs(info.columns) do c.old_name = c.name end
  info.extras = {}
  local s = host.query("SELECT type, name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') AND tbl_name = $1 AND sql IS NOT NULL ORDER BY type, name", tbl)
  while true do
    local r = s:next()
    if not r then break end
    info.extras[#info.extras + 1] = { type = r.type, name = r.name, sql = r.sql }
  end
  s:close()
  return info
end

local function find_column(info, name)
  for i, c in ipairs(info.columns) do if c.name == name then return c, i end end
  return nil
end

-- A column definition rendered by D.column_def, parsed back into its parts.
local function parsed_column(def)
  local info = ddl.parse_table("CREATE TABLE t (" .. def .. ")")
  return info.columns[1]
end

-- Applies one change to the described table (in memory).
local apply = {}
function apply.add_column(info, ch)
  local col = parsed_column(D.column_def(ch.column))
  col.new = true
  info.columns[#info.columns + 1] = col
end
function apply.drop_column(info, ch)
  local _, i = find_column(info, ch.name)
  if not i then error("column '" .. ch.name .. "' does not exist in table '" .. info.table .. "'", 5) end
  local col = info.columns[i]
  if col.old_name then info.dropped[#info.dropped + 1] = col.old_name end
  table.remove(info.columns, i)
end
function apply.alter_column(info, ch)
  local col = find_column(info, ch.name)
  if not col then error("column '" .. ch.name .. "' does not exist in table '" .. info.table .. "'", 5) end
  local o = ch.opts
  if o.type ~= nil then
    col.type = ddl.tokenize(D.column_type(o.type))
    if o.using ~= nil then col.using = D.is_text(o.using) and o.using.sql or o.using end
    if type(col.using) ~= "string" and col.using ~= nil then
      error("op.alter_column: using must be SQL text (a string or op.text)", 5)
    end
  end
  if o.nullable ~= nil then
    col.constraints = trim(ddl.remove_not_null(col.constraints))
    if o.nullable == false then col.constraints = ddl.tokenize(text(col.constraints) .. " NOT NULL") end
  end
  if o.default ~= nil then
    col.constraints = trim(ddl.remove_default(col.constraints))
    if o.default ~= D.NULL_DEFAULT then
      col.constraints = ddl.tokenize(text(col.constraints) .. " DEFAULT " .. D.literal(o.default))
    end
  end
  if o.new_name ~= nil then
    if type(o.new_name) ~= "string" or o.new_name == "" then error("new_name must be a non-empty string", 5) end
    -- Renamed where the table's own definition names it now, so later changes in the batch see the new name;
    -- indexes and triggers are renamed at the end, from their stored names.
    local map = { [col.name] = o.new_name }
    for _, c in ipairs(info.columns) do c.constraints = ddl.rename(c.constraints, map, info.table, q) end
    for _, c in ipairs(info.constraints) do c.tokens = ddl.rename(c.tokens, map, info.table, q) end
    if col.old_name then info.renamed[col.old_name] = o.new_name end
    col.name = o.new_name
  end
end
function apply.add_constraint(info, ch)
  info.constraints[#info.constraints + 1] = { name = ch.constraint.name, tokens = ddl.tokenize(D.constraint_def(ch.constraint)) }
end
function apply.drop_constraint(info, ch)
  for i, c in ipairs(info.constraints) do
    if c.name == ch.name then table.remove(info.constraints, i); return end
  end
  error("constraint '" .. ch.name .. "' not found on table '" .. info.table ..
    "' (SQLite only knows constraints declared with a name)", 5)
end

-- Statements that rebuild `tbl` with `changes` applied, inside the caller's transaction.
function D.rebuild(tbl, changes, opts)
  -- With foreign keys enforced, DROP TABLE would first delete the rows (firing ON DELETE CASCADE in other tables).
  local fk = host.query("PRAGMA foreign_keys")
  local on = fk:next()
  fk:close()
  if on and on.foreign_keys == 1 then
    error("table '" .. tbl .. "' cannot be rebuilt while PRAGMA foreign_keys is ON (dropping the old table would " ..
      "delete or cascade rows); turn it off first, outside a transaction", 5)
  end
  local info = describe(tbl)
  info.table, info.dropped, info.renamed = tbl, {}, {}
  for _, ch in ipairs(changes) do apply[ch.kind](info, ch) end
  local function renamed(tokens) return next(info.renamed) and ddl.rename(tokens, info.renamed, tbl, q) or tokens end
  local tmp = "_luamig_rebuild_" .. tbl
  local defs, into, from = {}, {}, {}
  for _, c in ipairs(info.columns) do
    local typ = text(c.type)
    local cons = text(c.constraints)
    defs[#defs + 1] = q(c.name) .. (typ:find("%S") and (" " .. typ) or "") .. (cons:find("%S") and (" " .. cons) or "")
    if not c.new then
      into[#into + 1] = q(c.name)
      from[#from + 1] = c.using or q(c.old_name)
    end
  end
  for _, c in ipairs(info.constraints) do defs[#defs + 1] = text(c.tokens) end
  local out = {
    "CREATE TABLE " .. q(tmp) .. " (\n    " .. concat(defs, ",\n    ") .. "\n)" .. info.suffix,
  }
  if #into > 0 then
    out[#out + 1] = "INSERT INTO " .. q(tmp) .. " (" .. concat(into, ", ") .. ") SELECT " .. concat(from, ", ") .. " FROM " .. q(tbl)
  end
  out[#out + 1] = "DROP TABLE " .. q(tbl)
  -- Legacy rename: views and triggers that name the table keep pointing at it by name.
  out[#out + 1] = "PRAGMA legacy_alter_table = ON"
  out[#out + 1] = "ALTER TABLE " .. q(tmp) .. " RENAME TO " .. q(tbl)
  out[#out + 1] = "PRAGMA legacy_alter_table = OFF"
  for _, x in ipairs(info.extras) do
    local keep = true
    for _, d in ipairs(info.dropped) do if ddl.mentions(x.sql, d) then keep = false end end
    if keep then out[#out + 1] = text(renamed(ddl.tokenize(x.sql))) end
  end
  out.atomic = true
  return out
end

function D.alter_column(tbl, name, opts)
  if opts.type == nil and opts.nullable == nil and opts.default == nil then
    if opts.new_name ~= nil then
      return { "ALTER TABLE " .. D.qualify(tbl, opts) .. " RENAME COLUMN " .. q(name) .. " TO " .. q(opts.new_name) }
    end
    if opts.comment ~= nil then return {} end
  end
  return D.rebuild(tbl, { { kind = "alter_column", name = name, opts = opts } }, opts)
end

function D.add_constraint(tbl, c, opts)
  return D.rebuild(tbl, { { kind = "add_constraint", constraint = c } }, opts)
end

function D.drop_constraint(name, tbl, opts)
  return D.rebuild(tbl, { { kind = "drop_constraint", name = name } }, opts)
end

-- batch_alter_table: the table changes become one rebuild; index changes run after it.
local rebuild_changes = {
  add_column = function(r) return { kind = "add_column", column = r.column } end,
  drop_column = function(r) return { kind = "drop_column", name = r.column } end,
  alter_column = function(r) return { kind = "alter_column", name = r.column, opts = r } end,
  rename_column = function(r) return { kind = "alter_column", name = r.column, opts = { new_name = r.new_name } } end,
  create_primary_key = function(r) return { kind = "add_constraint", constraint = r } end,
  create_unique_constraint = function(r) return { kind = "add_constraint", constraint = r } end,
  create_foreign_key = function(r) return { kind = "add_constraint", constraint = r } end,
  create_check_constraint = function(r) return { kind = "add_constraint", constraint = r } end,
  drop_constraint = function(r) return { kind = "drop_constraint", name = r.name } end,
}
function D.render.batch_alter_table(r)
  local changes, after = {}, {}
  for _, change in ipairs(r.changes) do
    local to_change = rebuild_changes[change.kind]
    if to_change then changes[#changes + 1] = to_change(change) else after[#after + 1] = change end
  end
  local out = #changes > 0 and D.rebuild(r.table, changes, r) or {}
  for _, change in ipairs(after) do
    for _, sql in ipairs(D.render[change.kind](change)) do out[#out + 1] = sql end
  end
  return out
end

return D
