-- The environment every migration file, hooks file and required module runs in.
-- Engine code: runs with the real globals; sandboxed code only ever sees what new_env() hands out.
--
-- What a file gets: op, context (read-only), log, print (= log.info), require (stdlib/ and
-- <script_location>/lib/, Lua source only); assert error ipairs next pairs pcall select tonumber tostring type unpack
-- xpcall rawequal rawget, and rawset getmetatable setmetatable (guarded, see below); string (string.dump
-- refused), table, math (math.random seeded per run and per file), os.time/clock/date, bit, coroutine (nesting
-- capped), collectgarbage("count").
-- Refused with "<name> is not available in migrations": io, os.*, debug, jit, package, ffi, load, loadstring,
-- dofile, loadfile, getfenv, setfenv, newproxy, module, gcinfo, string.dump. getfenv/setfenv are refused entirely
-- (not only on functions outside the migration): a file that wants per-function environments can pass tables.
--
-- Isolation: every file (and every module it requires) gets its own globals and its own copies of the libraries;
-- `context` is read-only (context.x is the file's own copy: LuaJIT has no __pairs, and a proxy could not be iterated).
-- Values the engine shares between files are out of reach: getmetatable() never returns a metatable the sandboxed
-- code did not set itself (the string metatable, op.text values, row streams), setmetatable() and rawset() refuse
-- engine-owned tables, and the tables hung on `op` are sealed.
local host, base_context = ...

local real = {
  string = string, table = table, math = math, os = os, bit = bit, coroutine = coroutine,
  setmetatable = setmetatable, getmetatable = getmetatable, rawget = rawget, rawset = rawset,
  error = error, type = type, pairs = pairs, next = next, tostring = tostring, setfenv = setfenv,
  collectgarbage = collectgarbage, select = select,
}
local setmetatable, rawget, rawset, error, type, pairs, tostring, select =
  setmetatable, rawget, rawset, error, type, pairs, tostring, select
local raw_getmetatable = host.raw_getmetatable

-- Dependencies point one way: sandbox -> op -> dialect renderer -> values; op records into the plan.
local op_values = host.engine_module("values", host)
local recorder = host.engine_module("plan", host, op_values)
-- The renderer the registry names for this database (src/db/registry.cpp), checked against its interface.
local renderer = host.engine_module("dialect/interface").check(
  host.engine_module("dialect/" .. host.renderer, host, op_values), "lua/dialect/" .. host.renderer .. ".lua")
local op = host.engine_module("op", host, op_values, recorder, renderer)

-- The engine's private helpers for the stdlib (stdlib/luamig/*.lua): handed to those modules only, as their chunk's
-- second argument. Nothing on `op`, in a file's globals or behind require reaches this table.
local internal = {
  clock = host.clock, stderr_is_tty = host.stderr_is_tty, progress = host.progress, call_context = host.call_context,
  caps = renderer.caps, array_literal = host.array_literal, query_all = host.query_all, send = host.send,
  wait_sent = host.wait_sent,
}

local M = {}
-- The renderer's declared capabilities, read by the engine (booleans as parameters) and the stdlib.
M.caps = renderer.caps

local function refuse(what, level)
  error(what .. " is not available in migrations", level + 1)
end

local function copy(t, skip)
  local c = {}
  for k, v in pairs(t) do
    if not (skip and skip[k]) then c[k] = v end
  end
  return c
end

-- Tables owned by the engine that sandboxed code can reach: rawset() and setmetatable() refuse them.
local sealed = setmetatable({}, { __mode = "k" })
-- Metatables set by sandboxed code: the only ones getmetatable() reveals.
local user_metatables = setmetatable({}, { __mode = "k" })

-- A table whose reads see `backing` and whose writes fail: for shared, engine-owned values.
local refuse_write = {}   -- what -> its __newindex (one closure per name, not per table)
local function readonly(backing, what)
  local newindex = refuse_write[what]
  if not newindex then
    newindex = function(_, k)
      error(what .. " is read-only (cannot set '" .. tostring(k) .. "')", 2)
    end
    refuse_write[what] = newindex
  end
  local t = setmetatable({}, { __index = backing, __newindex = newindex, __metatable = false })
  sealed[t] = true
  return t
end

-- A library stub whose every field is refused with a message that says so.
local function refused_library(name)
  local t = setmetatable({}, {
    __index = function(_, k) refuse(name .. "." .. tostring(k), 2) end,
    __newindex = function(_, k) refuse(name .. "." .. tostring(k), 2) end,
    __metatable = false,
  })
  sealed[t] = true
  return t
end

-- Makes an engine table reachable from sandboxed code immutable in place (identity is kept: engine code compares
-- values such as op.NULL_DEFAULT by identity). Its fields move to a hidden table read through __index.
local function seal(t)
  if sealed[t] then return end
  sealed[t] = true
  local mt = raw_getmetatable(t)
  if mt == nil then
    mt = {}
    setmetatable(t, mt)
  end
  if rawget(mt, "__index") == nil and next(t) ~= nil then
    local fields = {}
    for k, v in pairs(t) do fields[k] = v end
    for k in pairs(fields) do rawset(t, k, nil) end
    rawset(mt, "__index", fields)
  end
  if rawget(mt, "__newindex") == nil then
    rawset(mt, "__newindex", function(_, k)
      error("luamig's values are read-only (cannot set '" .. tostring(k) .. "')", 2)
    end)
  end
  if rawget(mt, "__metatable") == nil then rawset(mt, "__metatable", false) end
  for _, v in pairs(rawget(mt, "__index") or t) do
    if type(v) == "table" then seal(v) end
  end
end
for _, v in pairs(op) do
  if type(v) == "table" then seal(v) end
end

local forbidden_globals = {
  load = true, loadstring = true, dofile = true, loadfile = true, getfenv = true, setfenv = true,
  newproxy = true, module = true, package = true, debug = true, ffi = true, jit = true, io = true,
  gcinfo = true,
}

local os_allowed = { time = true, clock = true, date = true }

local os_metatable = {
  __index = function(_, k) refuse("os." .. tostring(k), 2) end,
  __metatable = false,
}

local function safe_collectgarbage(opt)
  if opt == "count" then return real.collectgarbage("count") end
  error("collectgarbage(" .. (opt == nil and "" or "\"" .. tostring(opt) .. "\"") ..
    ") is not available in migrations (only collectgarbage(\"count\"))", 2)
end

-- getmetatable/setmetatable/rawset as the sandbox sees them.
local function safe_getmetatable(v)
  local mt = raw_getmetatable(v)
  if mt == nil then return nil end
  if not user_metatables[mt] then return false end   -- as for a protected metatable
  return real.getmetatable(v)                         -- honours the file's own __metatable
end

local function safe_setmetatable(t, mt)
  if type(t) ~= "table" then
    error("bad argument #1 to 'setmetatable' (table expected, got " .. type(t) .. ")", 2)
  end
  if sealed[t] then error("setmetatable: cannot change the metatable of a luamig value", 2) end
  local current = raw_getmetatable(t)
  if current ~= nil and not user_metatables[current] then
    error("setmetatable: cannot change the metatable of a luamig value", 2)
  end
  if mt ~= nil and type(mt) ~= "table" then
    error("bad argument #2 to 'setmetatable' (nil or table expected)", 2)
  end
  if mt ~= nil then
    if sealed[mt] then error("setmetatable: a luamig value cannot be used as a metatable", 2) end
    user_metatables[mt] = true
  end
  return setmetatable(t, mt)
end

local function safe_rawset(t, k, v)
  if type(t) == "table" and sealed[t] then
    error("rawset: cannot change a luamig value (cannot set '" .. tostring(k) .. "')", 2)
  end
  return rawset(t, k, v)
end

-- The table library writes raw (table.insert, table.remove, table.sort and table.move never call __newindex): each
-- refuses an engine-owned table, so no file or hook can leave data on one for a later file to find.
local safe_table = copy(real.table)
do
  local function writer(fname, fn, target_arg)
    return function(...)
      local t = select(target_arg, ...)
      if target_arg == 5 and t == nil then t = (...) end   -- table.move(a1, f, e, t): a2 defaults to a1
      if type(t) == "table" and sealed[t] then
        error(fname .. ": cannot change a luamig value (it is read-only)", 2)
      end
      return fn(...)
    end
  end
  for _, name in ipairs({ "insert", "remove", "sort", "setn" }) do
    if real.table[name] then safe_table[name] = writer("table." .. name, real.table[name], 1) end
  end
  if real.table.move then safe_table.move = writer("table.move", real.table.move, 5) end
end

-- Coroutines: each nested resume runs on the C stack; nesting is capped with a clear error.
local MAX_COROUTINE_DEPTH = 200
local co_depth = 0
local co_resume, co_create = real.coroutine.resume, real.coroutine.create

local function enter(level)
  if co_depth >= MAX_COROUTINE_DEPTH then
    error("coroutines are nested too deeply (more than " .. MAX_COROUTINE_DEPTH .. " resumed inside each other)",
      level + 1)
  end
  co_depth = co_depth + 1
end

local function leave(...)
  co_depth = co_depth - 1
  return ...
end

-- Protected calls: while migration code runs under pcall, xpcall or coroutine.resume (which all catch errors),
-- the engine runs each statement inside an open transaction in a savepoint of its own, so that a failing statement
-- caught there is undone alone and the transaction stays usable (PostgreSQL would otherwise refuse every later
-- statement: "current transaction is aborted"). Outside any protected call no savepoint is used. The host is told
-- only when the depth moves between 0 and 1.
local protected_depth = 0
local set_protected = host.set_protected

local function protect()
  protected_depth = protected_depth + 1
  if protected_depth == 1 then set_protected(true) end
end

local function unprotect(...)
  protected_depth = protected_depth - 1
  if protected_depth == 0 then set_protected(false) end
  return ...
end

local function safe_pcall(f, ...)
  protect()
  return unprotect(pcall(f, ...))
end

local function safe_xpcall(f, handler, ...)
  protect()
  return unprotect(xpcall(f, handler, ...))
end

local function safe_resume(co, ...)
  enter(2)
  protect()
  return leave(unprotect(co_resume(co, ...)))
end

local function wrap_result(ok, ...)
  if ok then return ... end
  error((...), 0)
end

local function safe_wrap(f)
  local co = co_create(f)
  return function(...)
    enter(2)
    return wrap_result(leave(co_resume(co, ...)))
  end
end

-- Before every load and call (new_plan ~= false: the plan starts empty), and after a failure (the plan is kept).
function M.reset(new_plan)
  co_depth = 0
  if new_plan ~= false then recorder.reset() end
  if protected_depth ~= 0 then
    protected_depth = 0
    set_protected(false)
  end
end

-- The recorded plan of the last load or call, as plain data (lua/plan.lua).
function M.plan() return recorder.export() end

local run_seed = real.math.random(1, 2 ^ 30)
local files_loaded = 0

local function format_args(...)
  local n = select("#", ...)
  local parts = {}
  for i = 1, n do parts[i] = tostring((select(i, ...))) end
  return table.concat(parts, " ")
end

local log = {
  info = function(...) host.log("info", format_args(...)) end,
  warn = function(...) host.log("warn", format_args(...)) end,
  error = function(...) host.log("error", format_args(...)) end,
}

local function new_context()
  local c = copy(base_context)
  c.x = copy(base_context.x)
  return c
end

-- Per environment: the backing table behind `context`, updated by set_call_context before each call.
local context_of = setmetatable({}, { __mode = "k" })

-- ---- per-file environments, from templates built once ----------------------------------------------------------
-- Building each file's environment from scratch (a copy loop per library, a closure per refused library) was most of
-- the client's CPU per revision in a long upgrade. What no file can change is built once and shared: the refused
-- libraries, `op` and `log` (sealed: rawset, setmetatable and the table library refuse them), the environment's
-- metatable and os's. What a file may change gets its own copy, made by a generated table constructor (one
-- pre-sized table, no copy loop): the globals table and the string, table, math, bit, coroutine and os tables.

-- constructor(shared, per_file): a function(per_file values...) returning a new table holding the `shared` pairs
-- (a list of { key, value }, string keys) and the `per_file` keys set to its arguments, in order.
local function constructor(shared, per_file)
  local src, vals, params = {}, {}, {}
  for i, key in ipairs(per_file or {}) do
    params[i] = "a" .. i
    src[#src + 1] = string.format("[%q] = a%d,", key, i)
  end
  for i, f in ipairs(shared) do
    vals[i] = f[2]
    src[#src + 1] = string.format("[%q] = v[%d],", f[1], i)
  end
  local code = "local v = ...\nreturn function(" .. table.concat(params, ", ") .. ")\nreturn {\n" ..
    table.concat(src, "\n") .. "\n}\nend"
  return assert(loadstring(code, "=lua/sandbox.lua (environment template)"))(vals)
end

-- A constructor of shallow copies of `t` (string keys only, as the libraries have).
local function copier(t)
  local fields = {}
  for k, v in pairs(t) do
    if type(k) ~= "string" then return function() return copy(t) end end
    fields[#fields + 1] = { k, v }
  end
  return constructor(fields)
end

local new_string = copier(real.string)   -- string.dump is the engine's refusal
local new_table = copier(safe_table)
local new_math = copier(real.math)
local new_bit = copier(real.bit)
local new_coroutine
do
  local co = copy(real.coroutine)
  co.resume = safe_resume
  co.wrap = safe_wrap
  new_coroutine = copier(co)
end
local new_os
do
  local allowed = {}
  for k in pairs(os_allowed) do allowed[k] = real.os[k] end
  new_os = copier(allowed)
end

local shared_log = readonly(log, "log")
local new_globals = constructor({
  { "assert", assert }, { "error", error }, { "ipairs", ipairs }, { "next", next }, { "pairs", pairs },
  { "pcall", safe_pcall }, { "xpcall", safe_xpcall }, { "select", select }, { "tonumber", tonumber },
  { "tostring", tostring }, { "type", type }, { "unpack", unpack }, { "rawequal", rawequal }, { "rawget", rawget },
  { "rawset", safe_rawset }, { "setmetatable", safe_setmetatable }, { "getmetatable", safe_getmetatable },
  { "collectgarbage", safe_collectgarbage },
  { "io", refused_library("io") }, { "debug", refused_library("debug") }, { "jit", refused_library("jit") },
  { "package", refused_library("package") }, { "ffi", refused_library("ffi") },
  { "op", readonly(op, "op") }, { "log", shared_log }, { "print", log.info },
}, { "string", "table", "math", "bit", "coroutine", "os", "context", "require" })

local env_metatable = {
  __index = function(_, k)
    if forbidden_globals[k] then refuse(tostring(k), 2) end
    return nil
  end,
  __metatable = false,
}

-- `loaded`: the modules already required by this file and the modules it required (shared by the whole tree, so
-- that a require cycle ends).
function M.new_env(chunk_path, loaded)
  local env
  local ctx = new_context()
  ctx.file = chunk_path
  if loaded == nil then
    loaded = {}
    -- Each file starts from the run's seed: math.randomseed in one file does not change what the next one draws.
    files_loaded = files_loaded + 1
    real.math.randomseed(run_seed + files_loaded)
  end

  local function sandbox_require(name)
    if type(name) ~= "string" then error("require: module name must be a string", 2) end
    if loaded[name] ~= nil then return loaded[name] end
    local source, chunkname = host.module_source(name)
    if not source then
      error("module '" .. name .. "' is not available in migrations (stdlib or <script_location>/lib/" ..
        name:gsub("%.", "/") .. ".lua)", 2)
    end
    local fn, err = host.compile(source, chunkname)
    if not fn then error("require '" .. name .. "': " .. tostring(err), 2) end
    local module_env = M.new_env(chunkname, loaded)
    real.setfenv(fn, module_env)
    loaded[name] = true   -- guards against require cycles
    local result
    if chunkname:sub(1, 8) == "=stdlib/" then result = fn(name, internal) else result = fn(name) end
    if result == nil then result = true end
    loaded[name] = result
    return result
  end

  env = new_globals(new_string(), new_table(), new_math(), new_bit(), new_coroutine(),
    setmetatable(new_os(), os_metatable), readonly(ctx, "context"), sandbox_require)
  env._G = env
  context_of[env] = ctx
  return setmetatable(env, env_metatable)
end

function M.set_call_context(env, values)
  local ctx = context_of[env]
  if not ctx then return end
  for k, v in pairs(values) do ctx[k] = v end
end

return M
