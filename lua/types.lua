-- Generic column types, compiled per dialect: op.types.string(20), op.types.integer, op.types.timestamp{ timezone = true }.
-- Each is usable bare (op.types.integer) or called with its parameters; a raw type string still passes through.
local T = {}

local function generic(name, params)
  local base = { generic = name }
  return setmetatable(base, {
    __call = function(_, ...)
      local t = { generic = name }
      local first = ...
      if type(first) == "table" then
        for k, v in pairs(first) do t[k] = v end
      else
        for i, key in ipairs(params or {}) do t[key] = (select(i, ...)) end
      end
      return t
    end,
    __newindex = function() error("op.types." .. name .. " is read-only", 2) end,
    __metatable = false,
  })
end

T.string = generic("string", { "length" })
T.text = generic("text")
T.integer = generic("integer")
T.bigint = generic("bigint")
T.smallint = generic("smallint")
T.boolean = generic("boolean")
T.float = generic("float")
T.numeric = generic("numeric", { "precision", "scale" })
T.date = generic("date")
T.timestamp = generic("timestamp", { "timezone" })
T.json = generic("json")
T.uuid = generic("uuid")
T.binary = generic("binary")
-- Auto-increment keys: serial on PostgreSQL, INTEGER PRIMARY KEY AUTOINCREMENT on SQLite (with primary_key = true).
T.serial = generic("serial")
T.bigserial = generic("bigserial")

return T
