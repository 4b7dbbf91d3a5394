-- op.batch_alter_table(table, function(batch) ... end, { schema = ... }): several changes to one table.
-- On SQLite they become one table rebuild ("move and copy"); elsewhere each runs as its own ALTER, as in Alembic.
local host, op, D = ...

local function collecting_batch(table_name, opts)
  local changes = {}
  local b = {}
  function b.add_column(col) changes[#changes + 1] = { kind = "add_column", column = col } end
  function b.drop_column(name) changes[#changes + 1] = { kind = "drop_column", name = name } end
  function b.alter_column(name, o) changes[#changes + 1] = { kind = "alter_column", name = name, opts = o or {} } end
  function b.rename_column(old, new) changes[#changes + 1] = { kind = "alter_column", name = old, opts = { new_name = new } } end
  function b.create_unique_constraint(name, cols)
    changes[#changes + 1] = { kind = "add_constraint", constraint = { constraint = "unique", name = name, columns = type(cols) == "string" and { cols } or cols } }
  end
  function b.create_check_constraint(name, condition)
    changes[#changes + 1] = { kind = "add_constraint", constraint = { constraint = "check", name = name, condition = tostring(condition) } }
  end
  function b.create_primary_key(name, cols)
    changes[#changes + 1] = { kind = "add_constraint", constraint = { constraint = "primary_key", name = name, columns = type(cols) == "string" and { cols } or cols } }
  end
  function b.create_foreign_key(name, referent, local_cols, remote_cols, o)
    o = o or {}
    changes[#changes + 1] = { kind = "add_constraint", constraint = { constraint = "foreign_key", name = name,
      columns = type(local_cols) == "string" and { local_cols } or local_cols, referent = referent,
      remote_columns = type(remote_cols) == "string" and { remote_cols } or remote_cols,
      ondelete = o.ondelete, onupdate = o.onupdate } }
  end
  function b.drop_constraint(name) changes[#changes + 1] = { kind = "drop_constraint", name = name } end
  local indexes = {}
  function b.create_index(name, cols, o) indexes[#indexes + 1] = function() op.create_index(name, table_name, cols, o) end end
  function b.drop_index(name, o) indexes[#indexes + 1] = function() op.drop_index(name, o) end end
  return b, function()
    if #changes > 0 then
      local statements = D.rebuild(table_name, changes, opts)
      local function apply() for _, sql in ipairs(statements) do host.execute(sql) end end
      -- All or nothing: outside a transaction the rebuild gets one of its own.
      if host.in_transaction() then apply() else host.transaction(apply) end
    end
    for _, f in ipairs(indexes) do f() end
  end
end

local function direct_batch(table_name, opts)
  local b = {}
  local function with_schema(o)
    local t = {}
    for k, v in pairs(o or {}) do t[k] = v end
    if opts.schema and t.schema == nil then t.schema = opts.schema end
    return t
  end
  function b.add_column(col) op.add_column(table_name, col, with_schema()) end
  function b.drop_column(name) op.drop_column(table_name, name, with_schema()) end
  function b.alter_column(name, o) op.alter_column(table_name, name, with_schema(o)) end
  function b.rename_column(old, new) op.alter_column(table_name, old, with_schema({ new_name = new })) end
  function b.create_unique_constraint(name, cols) op.create_unique_constraint(name, table_name, cols, with_schema()) end
  function b.create_check_constraint(name, condition) op.create_check_constraint(name, table_name, condition, with_schema()) end
  function b.create_primary_key(name, cols) op.create_primary_key(name, table_name, cols, with_schema()) end
  function b.create_foreign_key(name, referent, l, r, o) op.create_foreign_key(name, table_name, referent, l, r, with_schema(o)) end
  function b.drop_constraint(name) op.drop_constraint(name, table_name, with_schema()) end
  function b.create_index(name, cols, o) op.create_index(name, table_name, cols, with_schema(o)) end
  function b.drop_index(name, o) op.drop_index(name, with_schema(o)) end
  return b, function() end
end

return function(table_name, fn, opts)
  if type(table_name) ~= "string" or table_name == "" then error("op.batch_alter_table: table name must be a string", 2) end
  if type(fn) ~= "function" then error("op.batch_alter_table: expected a function(batch)", 2) end
  opts = opts or {}
  local batch, finish
  if D.supports_rebuild then batch, finish = collecting_batch(table_name, opts) else batch, finish = direct_batch(table_name, opts) end
  fn(batch)
  finish()
end
