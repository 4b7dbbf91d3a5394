-- op.batch_alter_table(table, function(batch) ... end, { schema = ... }): several changes to one table.
-- Each batch method builds its record with the same builder (the same validation, the same options) as the op of
-- the same name in lua/op.lua. On a database whose renderer declares caps.rebuild (SQLite) the records are collected
-- and emitted as one batch_alter_table record: one table rebuild ("move and copy"), index changes after it.
-- Elsewhere each record is emitted at once, as its own ALTER, as in Alembic.
local host, internal = ...
local build, emit, D = internal.build, internal.emit, internal.D
local type, error, pairs, where = type, error, pairs, host.where

return function(table_name, fn, opts)
  if type(table_name) ~= "string" or table_name == "" then
    error("op.batch_alter_table: table name must be a string", 2)
  end
  if type(fn) ~= "function" then error("op.batch_alter_table: expected a function(batch)", 2) end
  opts = opts or {}
  -- A method's options, with the batch's schema unless the call names one.
  local function s(o)
    if o ~= nil and type(o) ~= "table" then return o end   -- the builder reports it
    local t = {}
    for k, v in pairs(o or {}) do t[k] = v end
    if opts.schema and t.schema == nil and t.source_schema == nil then t.schema = opts.schema end
    return t
  end
  local collect = D.caps.rebuild
  local changes = {}
  local function add(rec)
    if collect then
      rec.file, rec.line = where()
      changes[#changes + 1] = rec
    else
      emit(rec)
    end
  end
  -- Each method calls its builder directly: a builder's errors name the migration line that called the method.
  local t = table_name
  local b = {}
  function b.add_column(col) add(build.add_column(t, col, s())) end
  function b.drop_column(name) add(build.drop_column(t, name, s())) end
  function b.alter_column(name, o) add(build.alter_column(t, name, s(o))) end
  function b.rename_column(old, new) add(build.rename_column(t, old, new, s())) end
  function b.create_unique_constraint(name, cols, o) add(build.create_unique_constraint(name, t, cols, s(o))) end
  function b.create_check_constraint(name, cond, o) add(build.create_check_constraint(name, t, cond, s(o))) end
  function b.create_primary_key(name, cols) add(build.create_primary_key(name, t, cols, s())) end
  function b.create_foreign_key(name, referent, l, r, o)
    add(build.create_foreign_key(name, t, referent, l, r, s(o)))
  end
  function b.drop_constraint(name) add(build.drop_constraint(name, t, s())) end
  function b.create_index(name, cols, o) add(build.create_index(name, t, cols, s(o))) end
  function b.drop_index(name, o) add(build.drop_index(name, s(o))) end
  fn(b)
  if #changes > 0 then
    emit({ kind = "batch_alter_table", table = table_name, schema = opts.schema, changes = changes })
  end
end
