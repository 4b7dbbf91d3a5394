-- The interface every database renderer (lua/dialect/<name>.lua) declares, checked when the renderer loads: a
-- renderer missing a capability or a record kind fails loudly instead of at the first migration that needs it.
--
-- A renderer module is called as host.engine_module("dialect/<name>", host, values) (values: lua/values.lua) and
-- returns a table D with:
--   D.name                     the dialect's name ("postgresql", "sqlite")
--   D.caps                     capabilities, each declared (see CAPABILITIES below, with their types)
--   D.quote_ident(name)        a quoted identifier
--   D.qualify(name, opts)      a quoted, schema-qualified name (opts.schema)
--   D.literal(value)           a Lua value (string, number, boolean, op.NULL, op.text) as an SQL literal
--   D.column_type(t)           a column type (a string, op.text, or a generic type from op.types) as SQL
--   D.render[kind](record)     for every kind in RENDERED_KINDS: the statements that carry out the record, in order.
--                              A statement is SQL text, or { sql = ..., params = { n = N, ... } } (bound as $1..$N),
--                              or { sql = ..., copy = { table = ..., columns = { ... }, rows = { ... } } } (COPY).
--                              Renderers may read the catalog (SQLite rebuilds do) but never execute.
-- The record schema of each kind is written down in docs/ops-plan.md.
local I = {}

-- name -> Lua type of the value
I.CAPABILITIES = {
  transactional_ddl = "boolean",   -- DDL rolls back with the transaction
  default_in_values = "boolean",   -- DEFAULT may stand for a value inside INSERT ... VALUES
  max_params = "number",           -- bound parameters one statement may carry
  rebuild = "boolean",             -- batch_alter_table becomes one table rebuild ("move and copy")
  copy = "boolean",                -- COPY ... FROM STDIN loads rows
  array_params = "boolean",        -- one bound parameter may carry an array (host.array_literal; unnest)
  bool_encoding = "table",         -- { [true] = text, [false] = text }: a Lua boolean as a text parameter
  plain_backslashes = "boolean",   -- a backslash in a string literal is just a backslash (no E'' form)
  comments = "boolean",            -- COMMENT ON is available (otherwise comment statements are left out)
  values_aliases = "boolean",      -- a VALUES list takes column names: (VALUES ...) AS s(a, b)
  catalog = "table",               -- the catalog queries the stdlib runs (CATALOG_QUERIES below)
}

-- The queries a renderer declares in caps.catalog, each SQL text, or false where the database has none (the stdlib
-- then goes without: luamig.backfill skips the check, the casts or the estimate). $1 is a quoted, possibly
-- schema-qualified table name.
I.CATALOG_QUERIES = {
  unique_key = "a row when column $2 of table $1 alone is unique (primary key or single-column unique index)",
  column_types = "rows (name, type): each column of table $1 with its type as a cast spells it",
  row_estimate = "one row, one value: the planner's estimate of the rows in table $1 (NULL or 0: none)",
}

-- Kinds a renderer turns into statements (one function each in D.render).
I.RENDERED_KINDS = {
  "create_table", "drop_table", "rename_table", "add_column", "drop_column", "alter_column", "rename_column",
  "create_table_comment", "drop_table_comment", "create_index", "drop_index", "create_primary_key",
  "create_unique_constraint", "create_foreign_key", "create_check_constraint", "drop_constraint", "bulk_insert",
  "copy_rows", "batch_alter_table",
}
-- Kinds recorded as they are, never rendered: their SQL is the migration's own (execute, query) or they only mark
-- where work runs (autocommit_block, transaction).
I.PASSTHROUGH_KINDS = { "execute", "query", "autocommit_block", "transaction" }

local FUNCTIONS = { "quote_ident", "qualify", "literal", "column_type" }

-- Raises an error listing everything `D` (loaded from `module`) fails to declare.
function I.check(D, module)
  local missing = {}
  if type(D) ~= "table" then error("dialect renderer " .. module .. " did not return a table", 0) end
  if type(D.name) ~= "string" then missing[#missing + 1] = "name (a string)" end
  if type(D.caps) ~= "table" then
    missing[#missing + 1] = "caps (a table)"
  else
    for cap, t in pairs(I.CAPABILITIES) do
      if type(D.caps[cap]) ~= t then missing[#missing + 1] = "caps." .. cap .. " (a " .. t .. ")" end
    end
    for cap in pairs(D.caps) do
      if not I.CAPABILITIES[cap] then
        missing[#missing + 1] = "caps." .. tostring(cap) .. " is not a known capability"
      end
    end
    if type(D.caps.catalog) == "table" then
      for q in pairs(I.CATALOG_QUERIES) do
        local v = D.caps.catalog[q]
        if type(v) ~= "string" and v ~= false then
          missing[#missing + 1] = "caps.catalog." .. q .. " (SQL text or false)"
        end
      end
      for q in pairs(D.caps.catalog) do
        if not I.CATALOG_QUERIES[q] then
          missing[#missing + 1] = "caps.catalog." .. tostring(q) .. " is not a known catalog query"
        end
      end
    end
  end
  for _, f in ipairs(FUNCTIONS) do
    if type(D[f]) ~= "function" then missing[#missing + 1] = f .. " (a function)" end
  end
  if type(D.render) ~= "table" then
    missing[#missing + 1] = "render (a table of renderers)"
  else
    for _, kind in ipairs(I.RENDERED_KINDS) do
      if type(D.render[kind]) ~= "function" then missing[#missing + 1] = "render." .. kind end
    end
  end
  table.sort(missing)
  if #missing > 0 then
    error("dialect renderer " .. module .. " is incomplete: " .. table.concat(missing, ", "), 0)
  end
  return D
end

return I
