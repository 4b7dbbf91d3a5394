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
  -- No boolean type: a boolean column has NUMERIC affinity, so booleans travel as 1/0 (as SQLAlchemy stores them).
  bool_encoding = { [true] = "1", [false] = "0" },
  -- No E'' strings: a backslash in a literal is just a backslash.
  plain_backslashes = true,
  comments = false,
}

local q, concat, format, upper = D.quote_ident, table.concat, string.format, string.upper

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
  if opts.using then error("op.create_index: index method '" .. tostring(opts.using) .. "' is not available on SQLite", 4) end
  if opts.include then error("op.create_index: INCLUDE columns are not available on SQLite", 4) end
  local exprs = {}
  for i, c in ipairs(columns) do exprs[i] = D.is_text(c) and c.sql or q(c) end
  -- SQLite has no concurrent index builds (a plain build is the equivalent) and puts the schema on the index.
  local sql = "CREATE " .. (opts.unique and "UNIQUE " or "") .. "INDEX " .. (opts.if_not_exists and "IF NOT EXISTS " or "") ..
    D.qualify(name, opts) .. " ON " .. q(tbl) .. " (" .. concat(exprs, ", ") .. ")"
  if opts.where then sql = sql .. " WHERE " .. tostring(opts.where) end
  return { sql }
end

function D.drop_index(name, opts)
  return { "DROP INDEX " .. (opts.if_exists and "IF EXISTS " or "") .. D.qualify(name, opts) }
end

---------------------------------------------------------------------------------------------------------------
-- Table rebuilds

-- Splits `s` on commas outside parentheses and quotes.
local function split_top(s)
  local parts, depth, start, i, n = {}, 0, 1, 1, #s
  while i <= n do
    local c = s:sub(i, i)
    if c == "'" or c == '"' or c == "`" or c == "[" then
      local close = c == "[" and "]" or c
      local j = i + 1
      while j <= n do
        local d = s:sub(j, j)
        if d == close then
          if s:sub(j + 1, j + 1) == close and close ~= "]" then j = j + 1 else break end
        end
        j = j + 1
      end
      i = j
    elseif c == "(" then depth = depth + 1
    elseif c == ")" then depth = depth - 1
    elseif c == "," and depth == 0 then
      parts[#parts + 1] = s:sub(start, i - 1):match("^%s*(.-)%s*$")
      start = i + 1
    end
    i = i + 1
  end
  parts[#parts + 1] = s:sub(start):match("^%s*(.-)%s*$")
  return parts
end

-- Reads a leading identifier (quoted or bare); returns its text and the rest of `s`.
local function leading_ident(s)
  local c = s:sub(1, 1)
  if c == '"' or c == "`" or c == "[" then
    local close = c == "[" and "]" or c
    local i, out = 2, {}
    while i <= #s do
      local d = s:sub(i, i)
      if d == close then
        if s:sub(i + 1, i + 1) == close and close ~= "]" then out[#out + 1] = d; i = i + 2
        else return concat(out), s:sub(i + 1) end
      else out[#out + 1] = d; i = i + 1 end
    end
    return concat(out), ""
  end
  local word, rest = s:match("^([%w_]+)(.*)$")
  return word, rest or ""
end

local table_constraint_words = { CONSTRAINT = true, PRIMARY = true, UNIQUE = true, CHECK = true, FOREIGN = true }
local column_constraint_words = { "CONSTRAINT", "PRIMARY", "NOT", "NULL", "UNIQUE", "CHECK", "DEFAULT", "COLLATE",
  "REFERENCES", "GENERATED", "AS" }

-- Position of keyword `kw` as a whole word in `s`, outside parentheses and quotes; nil when absent.
local function find_word(s, kw, init)
  local up = upper(s)
  local pos = init or 1
  while true do
    local a, b = up:find("%f[%w_]" .. kw .. "%f[^%w_]", pos)
    if not a then return nil end
    -- depth/quote check
    local depth, quote = 0, nil
    for i = 1, a - 1 do
      local c = s:sub(i, i)
      if quote then
        if c == quote then quote = nil end
      elseif c == "'" or c == '"' then quote = c
      elseif c == "(" then depth = depth + 1
      elseif c == ")" then depth = depth - 1 end
    end
    if depth == 0 and not quote then return a, b end
    pos = b + 1
  end
end

-- Splits a column definition's text after its name into the type and the constraints.
local function split_type(rest)
  local first
  for _, kw in ipairs(column_constraint_words) do
    local a = find_word(rest, kw)
    if a and (not first or a < first) then first = a end
  end
  if not first then return rest:match("^%s*(.-)%s*$"), "" end
  return rest:sub(1, first - 1):match("^%s*(.-)%s*$"), rest:sub(first)
end

-- Removes "DEFAULT <value>" from a constraints string.
local function remove_default(cons)
  local a, b = find_word(cons, "DEFAULT")
  if not a then return cons end
  local rest = cons:sub(b + 1)
  local ws = rest:match("^%s*")
  local body = rest:sub(#ws + 1)
  local len
  local c = body:sub(1, 1)
  if c == "(" then
    local depth = 0
    for i = 1, #body do
      local d = body:sub(i, i)
      if d == "(" then depth = depth + 1 elseif d == ")" then depth = depth - 1 end
      if depth == 0 then len = i; break end
    end
  elseif c == "'" then
    local i = 2
    while i <= #body do
      if body:sub(i, i) == "'" then
        if body:sub(i + 1, i + 1) == "'" then i = i + 2 else break end
      else i = i + 1 end
    end
    len = i
  else
    len = #(body:match("^[%+%-]?[%w_%.]+") or "")
  end
  return (cons:sub(1, a - 1) .. body:sub((len or #body) + 1)):gsub("%s+", " ")
end

local function remove_not_null(cons)
  local a, b = find_word(cons, "NOT")
  while a do
    local after = cons:sub(b + 1)
    local ws = after:match("^%s*")
    if upper(after:sub(#ws + 1, #ws + 4)) == "NULL" then
      cons = cons:sub(1, a - 1) .. after:sub(#ws + 5)
      a, b = find_word(cons, "NOT")
    else
      a, b = find_word(cons, "NOT", b + 1)
    end
  end
  return cons
end

-- Reads the table's CREATE statement, indexes and triggers from the catalog.
local function describe(tbl)
  local stream = host.query("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = $1", tbl)
  local row = stream:next()
  stream:close()
  if not row then error("table '" .. tbl .. "' does not exist", 5) end
  local sql = row.sql
  local open = sql:find("%(")
  local close
  for i = #sql, 1, -1 do if sql:sub(i, i) == ")" then close = i; break end end
  local info = { columns = {}, constraints = {}, suffix = sql:sub(close + 1), extras = {} }
  for _, def in ipairs(split_top(sql:sub(open + 1, close - 1))) do
    local word = upper(def:match("^([%a_]+)") or "")
    if table_constraint_words[word] and not def:match('^"') then
      local name = word == "CONSTRAINT" and select(1, leading_ident(def:match("^%a+%s+(.*)$"))) or nil
      info.constraints[#info.constraints + 1] = { name = name, sql = def }
    else
      local name, rest = leading_ident(def)
      local typ, cons = split_type(rest)
      info.columns[#info.columns + 1] = { name = name, old_name = name, type = typ, constraints = cons }
    end
  end
  local s = host.query("SELECT type, name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') AND tbl_name = $1 AND sql IS NOT NULL ORDER BY type, name", tbl)
  while true do
    local r = s:next()
    if not r then break end
    info.extras[#info.extras + 1] = { type = r.type, name = r.name, sql = r.sql }
  end
  return info
end

local function find_column(info, name)
  for i, c in ipairs(info.columns) do if c.name == name then return c, i end end
  return nil
end

-- Applies one change to the described table (in memory).
local apply = {}
function apply.add_column(info, ch)
  local def = D.column_def(ch.column)
  local name, rest = leading_ident(def)
  local typ, cons = split_type(rest)
  info.columns[#info.columns + 1] = { name = name, type = typ, constraints = cons, new = true }
end
function apply.drop_column(info, ch)
  local _, i = find_column(info, ch.name)
  if not i then error("column '" .. ch.name .. "' does not exist in table '" .. info.table .. "'", 5) end
  info.dropped[#info.dropped + 1] = ch.name
  table.remove(info.columns, i)
end
function apply.alter_column(info, ch)
  local col = find_column(info, ch.name)
  if not col then error("column '" .. ch.name .. "' does not exist in table '" .. info.table .. "'", 5) end
  local o = ch.opts
  if o.type ~= nil then
    col.type = D.column_type(o.type)
    if o.using then col.using = tostring(o.using) end
  end
  if o.nullable ~= nil then
    col.constraints = remove_not_null(col.constraints)
    if o.nullable == false then col.constraints = col.constraints .. " NOT NULL" end
  end
  if o.default ~= nil then
    col.constraints = remove_default(col.constraints)
    if o.default ~= D.NULL_DEFAULT then col.constraints = col.constraints .. " DEFAULT " .. D.literal(o.default) end
  end
  if o.new_name ~= nil then
    info.renamed[col.name] = o.new_name
    col.name = o.new_name
  end
end
function apply.add_constraint(info, ch)
  info.constraints[#info.constraints + 1] = { name = ch.constraint.name, sql = D.constraint_def(ch.constraint) }
end
function apply.drop_constraint(info, ch)
  for i, c in ipairs(info.constraints) do
    if c.name == ch.name then table.remove(info.constraints, i); return end
  end
  error("constraint '" .. ch.name .. "' not found on table '" .. info.table ..
    "' (SQLite only knows constraints declared with a name)", 5)
end

local function mentions(sql, name)
  return sql:find('"' .. name:gsub('"', '""'):gsub("%p", "%%%0") .. '"') or sql:find("%f[%w_]" .. name:gsub("%p", "%%%0") .. "%f[^%w_]")
end

-- `sql` with every renamed column's old name (quoted or bare) replaced by the new, quoted name.
local function rename_in(sql, renamed)
  for old, new in pairs(renamed) do
    local pat = old:gsub("%p", "%%%0")
    local repl = q(new):gsub("%%", "%%%%")
    sql = sql:gsub('"' .. pat .. '"', repl)
    sql = sql:gsub("%f[%w_\"]" .. pat .. "%f[^%w_\"]", repl)
  end
  return sql
end

-- Statements that rebuild `tbl` with `changes` applied, inside the caller's transaction.
function D.rebuild(tbl, changes, opts)
  local info = describe(tbl)
  info.table, info.dropped, info.renamed = tbl, {}, {}
  for _, ch in ipairs(changes) do apply[ch.kind](info, ch) end
  local tmp = "_luamig_rebuild_" .. tbl
  local defs, into, from = {}, {}, {}
  for _, c in ipairs(info.columns) do
    local def = q(c.name) .. (c.type ~= "" and (" " .. c.type) or "") .. (c.constraints:find("%S") and (" " .. c.constraints:match("^%s*(.-)%s*$")) or "")
    defs[#defs + 1] = def
    if not c.new then
      into[#into + 1] = q(c.name)
      from[#from + 1] = c.using or q(c.old_name)
    end
  end
  for _, c in ipairs(info.constraints) do defs[#defs + 1] = rename_in(c.sql, info.renamed) end
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
    local sql, keep = x.sql, true
    for _, d in ipairs(info.dropped) do if mentions(sql, d) then keep = false end end
    sql = rename_in(sql, info.renamed)
    if keep then out[#out + 1] = sql end
  end
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
