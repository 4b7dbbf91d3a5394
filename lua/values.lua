-- Values shared by the op API and the dialect renderers: op.NULL, op.text(...) and op.NULL_DEFAULT. Loaded once by
-- lua/op.lua and handed to the renderer, so both sides know the same identities (dependencies point one way:
-- op -> dialect -> values).
local host = ...
local V = {}
local type, error, setmetatable = type, error, setmetatable

V.NULL = host.NULL

-- Raw SQL, for defaults, index expressions and conditions: op.text("now()"). Known by identity (a weak set), since
-- the metatable is hidden from migrations.
local TextMT = { __tostring = function(t) return t.sql end, __metatable = false }
local texts = setmetatable({}, { __mode = "k" })
function V.text(sql)
  if type(sql) ~= "string" then error("op.text: expected a string of SQL, got " .. type(sql), 2) end
  local t = setmetatable({ sql = sql }, TextMT)
  texts[t] = true
  return t
end
function V.is_text(v) return texts[v] == true end

-- alter_column{ default = op.NULL_DEFAULT } drops the column's default.
V.NULL_DEFAULT = setmetatable({}, { __tostring = function() return "op.NULL_DEFAULT" end, __metatable = false })

return V
