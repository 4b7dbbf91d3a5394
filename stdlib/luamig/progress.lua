-- luamig.progress: a progress meter for long work (backfills, bulk copies): rows done, the total (exact or
-- estimated), the rate and the ETA.
--
--   local progress = require("luamig.progress")
--   local meter = progress.new{ label = "backfill users", total = 40000, estimated = false }
--   meter:update(rows_done, batches)   -- as often as convenient; it decides when to draw
--   meter:finish()                     -- ends a live line
--
-- On a terminal it redraws one line (at most every `refresh` seconds):
--   backfill users [#######.............] 14,000 / 40,000 rows (35%), 8,000 rows/s, ETA 3s
-- Off a terminal it writes a line every `interval` seconds, and every `every` batches when that is given:
--   backfill users: 14,000 rows in 14 batches, 35% of 40,000, 8,000 rows/s, ETA 3s
-- An estimated total (from pg_class.reltuples) is shown as "~40,000". The clock, the terminal test and the
-- output are injectable (clock, terminal, emit), which is how its tests drive it.
-- The engine's private helpers (clock, progress output, terminal test): handed to stdlib modules only, as the
-- chunk's second argument.
local _, internal = ...
local M = {}

local floor, min, format = math.floor, math.min, string.format

function M.format_count(n)
  local s = tostring(floor(n))
  local head, tail = s:match("^(%-?%d-)(%d%d%d*)$")
  if not head then return s end
  local out = tail:reverse():gsub("(%d%d%d)", "%1,"):reverse()
  if out:sub(1, 1) == "," then out = out:sub(2) end
  return head .. (head ~= "" and head ~= "-" and "," or "") .. out
end

function M.format_seconds(s)
  if s < 60 then return format("%.0fs", s) end
  if s < 3600 then return format("%dm%02ds", floor(s / 60), floor(s % 60)) end
  return format("%dh%02dm", floor(s / 3600), floor(s % 3600 / 60))
end

local Meter = {}
Meter.__index = Meter

-- opts: label, total (nil = unknown), estimated (the total is an estimate), terminal (default: stderr is one),
-- clock (seconds, default the engine's clock), emit(text, transient) (default the engine's progress output), interval (off a terminal,
-- default 5 s), every (batches, off a terminal; nil = time only), refresh (terminal, default 0.1 s), width (bar).
function M.new(opts)
  local clock = opts.clock or (internal and internal.clock)
  local emit = opts.emit or (internal and internal.progress)
  local terminal = opts.terminal
  if terminal == nil then terminal = internal and internal.stderr_is_tty and internal.stderr_is_tty() or false end
  local now = clock()
  return setmetatable({
    label = opts.label or "progress", total = opts.total, estimated = opts.estimated, terminal = terminal,
    clock = clock, emit = emit, interval = opts.interval or 5, every = opts.every, refresh = opts.refresh or 0.1,
    width = opts.width or 20, started = now, last = now, drawn = false, done = 0, batches = 0,
  }, Meter)
end

-- The fields of a line, shared by both forms.
function Meter:fields(now)
  local elapsed = now - self.started
  local rate = elapsed > 0 and self.done / elapsed or 0
  local total = self.total
  -- An estimate that the work outgrew is no longer useful as a total.
  if total and self.estimated and self.done > total then total = nil end
  local pct = total and total > 0 and min(100, floor(self.done * 100 / total)) or nil
  local eta = total and rate > 0 and total > self.done and (total - self.done) / rate or nil
  local total_text = total and ((self.estimated and "~" or "") .. M.format_count(total)) or nil
  return rate, pct, eta, total_text
end

function Meter:line(now)
  local rate, pct, eta, total_text = self:fields(now)
  local tail = M.format_count(floor(rate)) .. " rows/s" .. (eta and (", ETA " .. M.format_seconds(eta)) or "")
  if self.terminal then
    local bar = ""
    if pct then
      local filled = floor(pct * self.width / 100)
      bar = "[" .. string.rep("#", filled) .. string.rep(".", self.width - filled) .. "] "
    end
    local count = M.format_count(self.done) .. (total_text and (" / " .. total_text) or "") .. " rows" ..
      (pct and format(" (%d%%)", pct) or "")
    return self.label .. " " .. bar .. count .. ", " .. tail
  end
  return self.label .. ": " .. M.format_count(self.done) .. " rows in " .. self.batches .. " batch" ..
    (self.batches == 1 and "" or "es") .. ", " .. (pct and (pct .. "% of " .. total_text .. ", ") or "") .. tail
end

-- Records progress (rows done so far, batches so far) and draws when it is time to.
function Meter:update(done, batches)
  self.done = done
  local prev_batches = self.batches
  self.batches = batches or self.batches
  local now = self.clock()
  if self.terminal then
    if now - self.last < self.refresh and self.drawn then return end
    self.last = now
    self.drawn = true
    self.emit(self:line(now), true)
    return
  end
  local by_batches = self.every and floor(self.batches / self.every) > floor(prev_batches / self.every)
  if by_batches or now - self.last >= self.interval then
    self.last = now
    self.emit(self:line(now), false)
  end
end

-- Ends a live terminal line (nothing to do off a terminal).
function Meter:finish()
  if self.terminal and self.drawn then self.emit(nil) end
  self.drawn = false
end

return M
