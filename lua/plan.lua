-- The recorded plan of the running call: one record per op (kind, fields, the SQL it rendered to, the migration's
-- file:line). Records are kept as the op built them (no copy); export() turns them into plain data for the engine
-- (luahost/plan.hpp) only when the engine asks. The schema of each kind is docs/ops-plan.md.
local _, values = ...
local R = {}
local type, pairs, ipairs, tostring, format, concat, sort = type, pairs, ipairs, tostring, string.format,
  table.concat, table.sort
local is_text, NULL, NULL_DEFAULT = values.is_text, values.NULL, values.NULL_DEFAULT

-- At most this many records per call are kept (a loop of a million op.execute calls must not hold a million
-- records); the rest are only counted.
R.MAX_RECORDS = 10000

local records, n, dropped = {}, 0, 0

-- Starts an empty plan (at every load and call of the engine).
function R.reset()
  if n > 0 or dropped > 0 then records, n, dropped = {}, 0, 0 end
end

function R.add(rec)
  if n >= R.MAX_RECORDS then
    dropped = dropped + 1
    return
  end
  n = n + 1
  records[n] = rec
end

-- Records added so far, kept or not.
function R.count() return n + dropped end

---------------------------------------------------------------------------------------------------------------
-- Export

-- Fields that are not part of a record's data: the envelope, and data rows consumed by rendering.
local envelope = { kind = true, file = true, line = true, sql = true }

local function json_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    if c == '"' then return '\\"' elseif c == "\\" then return "\\\\" elseif c == "\n" then return "\\n"
    elseif c == "\t" then return "\\t" elseif c == "\r" then return "\\r" end
    return format("\\u%04x", c:byte())
  end) .. '"'
end

local function json_number(v)
  if v ~= v or v == math.huge or v == -math.huge then return json_string(tostring(v)) end
  if v == math.floor(v) and math.abs(v) < 2^53 then return format("%d", v) end
  return format("%.17g", v)
end

local json
-- A column spec { "name", "type", nullable = ... } is an object { "name": ..., "type": ..., "nullable": ... }.
local function json_table(t, depth)
  if depth > 16 then return '"..."' end
  local len = #t
  local keys = {}
  for k in pairs(t) do
    if not (type(k) == "number" and k >= 1 and k <= len and k == math.floor(k)) then keys[#keys + 1] = k end
  end
  if #keys == 0 then
    local items = {}
    for i = 1, len do items[i] = json(t[i], depth + 1) end
    return "[" .. concat(items, ",") .. "]"
  end
  local column_spec = type(t[1]) == "string" and len <= 2
  local items, names = {}, {}
  for i = 1, len do
    local name = column_spec and (i == 1 and "name" or "type") or tostring(i)
    names[#names + 1] = name
    items[name] = json(t[i], depth + 1)
  end
  for _, k in ipairs(keys) do
    local name = tostring(k)
    names[#names + 1] = name
    items[name] = json(t[k], depth + 1)
  end
  sort(names)
  local out = {}
  for i, name in ipairs(names) do out[i] = json_string(name) .. ":" .. items[name] end
  return "{" .. concat(out, ",") .. "}"
end

json = function(v, depth)
  local t = type(v)
  if v == nil or v == NULL then return "null" end
  if t == "string" then return json_string(v) end
  if t == "number" then return json_number(v) end
  if t == "boolean" then return v and "true" or "false" end
  if v == NULL_DEFAULT then return '{"null_default":true}' end
  if is_text(v) then return '{"sql":' .. json_string(v.sql) .. "}" end
  if t == "table" then return json_table(v, depth) end
  return json_string(tostring(v))
end

-- One field as { name, type, text }: type is string | number | boolean | null | sql | null_default | json.
local function field(name, v)
  local t = type(v)
  if v == NULL then return { name, "null", "" } end
  if v == NULL_DEFAULT then return { name, "null_default", "" } end
  if t == "string" then return { name, "string", v } end
  if t == "number" then return { name, "number", json_number(v) } end
  if t == "boolean" then return { name, "boolean", v and "true" or "false" } end
  if is_text(v) then return { name, "sql", v.sql } end
  return { name, "json", json(v, 0) }
end

-- { dropped = N, [i] = { kind, file, line, sql = { ... }, fields = { { name, type, text }, ... } } }
function R.export()
  local out = { dropped = dropped }
  for i = 1, n do
    local rec = records[i]
    local fields = {}
    for k, v in pairs(rec) do
      if type(k) == "string" and not envelope[k] then fields[#fields + 1] = field(k, v) end
    end
    sort(fields, function(a, b) return a[1] < b[1] end)
    out[i] = { kind = rec.kind, file = rec.file or "", line = rec.line or 0, sql = rec.sql or {}, fields = fields }
  end
  return out
end

return R
