-- The environment every migration file, hooks file and required module runs in.
-- Engine code: runs with the real globals; sandboxed code only ever sees what new_env() hands out.
local host, base_context = ...

local real = {
  string = string, table = table, math = math, os = os, bit = bit, coroutine = coroutine,
  setmetatable = setmetatable, getmetatable = getmetatable, rawget = rawget, rawset = rawset,
  error = error, type = type, pairs = pairs, next = next, tostring = tostring, setfenv = setfenv,
  collectgarbage = collectgarbage, select = select,
}
local setmetatable, rawget, error, type, pairs, tostring = setmetatable, rawget, error, type, pairs, tostring

math.randomseed(os.time())

local op = host.engine_module("op", host)

local M = {}

local function copy(t, skip)
  local c = {}
  for k, v in pairs(t) do
    if not (skip and skip[k]) then c[k] = v end
  end
  return c
end

-- A table whose reads see `backing` and whose writes fail: for shared, engine-owned values.
local function readonly(backing, what)
  return setmetatable({}, {
    __index = backing,
    __newindex = function(_, k)
      error(what .. " is read-only (cannot set '" .. tostring(k) .. "')", 2)
    end,
    __metatable = false,
  })
end

-- A library stub whose every field is refused with a message that says so.
local function refused_library(name)
  return setmetatable({}, {
    __index = function(_, k)
      error(name .. "." .. tostring(k) .. " is not available in migrations", 2)
    end,
    __newindex = function(_, k)
      error(name .. "." .. tostring(k) .. " is not available in migrations", 2)
    end,
    __metatable = false,
  })
end

local forbidden_globals = {
  load = true, loadstring = true, dofile = true, loadfile = true, getfenv = true, setfenv = true,
  newproxy = true, module = true, package = true, debug = true, ffi = true, jit = true, io = true,
  gcinfo = true, _VERSION = false,
}

local os_allowed = { time = true, clock = true, date = true }

local function safe_os()
  local t = {}
  for k in pairs(os_allowed) do t[k] = real.os[k] end
  return setmetatable(t, {
    __index = function(_, k)
      error("os." .. tostring(k) .. " is not available in migrations", 2)
    end,
    __metatable = false,
  })
end

local function safe_collectgarbage(opt)
  if opt == "count" then return real.collectgarbage("count") end
  error("collectgarbage(" .. tostring(opt) .. ") is not available in migrations (only \"count\")", 2)
end

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
local ro_log = readonly(log, "log")

local function new_context()
  local c = copy(base_context)
  c.x = copy(base_context.x)
  return c
end

-- Per environment: the backing table behind `context`, updated by set_call_context before each call.
local context_of = setmetatable({}, { __mode = "k" })

function M.new_env(chunk_path)
  local env = {}
  local ctx = new_context()
  ctx.file = chunk_path
  context_of[env] = ctx
  local loaded = {}

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
    local module_env = M.new_env(chunkname)
    real.setfenv(fn, module_env)
    loaded[name] = true   -- guards against require cycles
    local result = fn(name)
    if result == nil then result = true end
    loaded[name] = result
    return result
  end

  env.assert = assert
  env.error = error
  env.ipairs = ipairs
  env.next = next
  env.pairs = pairs
  env.pcall = pcall
  env.xpcall = xpcall
  env.select = select
  env.tonumber = tonumber
  env.tostring = tostring
  env.type = type
  env.unpack = unpack
  env.rawequal = rawequal
  env.rawget = rawget
  env.rawset = rawset
  env.setmetatable = setmetatable
  env.getmetatable = getmetatable
  env.print = log.info
  env.collectgarbage = safe_collectgarbage
  env.string = copy(real.string, { dump = true })
  env.table = copy(real.table)
  env.math = copy(real.math)
  env.bit = copy(real.bit)
  env.coroutine = copy(real.coroutine)
  env.os = safe_os()
  env.io = refused_library("io")
  env.debug = refused_library("debug")
  env.jit = refused_library("jit")
  env.package = refused_library("package")
  env.ffi = refused_library("ffi")
  env.op = readonly(op, "op")
  env.context = readonly(ctx, "context")
  env.log = ro_log
  env.require = sandbox_require
  env._G = env
  return setmetatable(env, {
    __index = function(_, k)
      if forbidden_globals[k] then error(tostring(k) .. " is not available in migrations", 2) end
      return nil
    end,
    __metatable = false,
  })
end

function M.set_call_context(env, values)
  local ctx = context_of[env]
  if not ctx then return end
  for k, v in pairs(values) do ctx[k] = v end
end

return M
