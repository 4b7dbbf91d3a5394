-- Production hooks (luamig.lua: environments.production.hooks).
--
-- * Runs only inside a maintenance window given on the command line:
--     luamig -e production upgrade head -x maintenance_window=open
--     luamig -e production upgrade head -x maintenance_window=22:00-02:00   (UTC, may wrap past midnight)
--   A run with nothing to do is always allowed.
-- * Sets application_name, so the migration's sessions are easy to spot in pg_stat_activity.
-- * Records every applied (or reverted) revision in luamig_audit, in the revision's own transaction: the audit row
--   exists exactly when the revision committed.
-- * Records failures in luamig_audit too, after the failed revision was rolled back.

local function minutes(hhmm)
  local h, m = hhmm:match("^(%d%d?):(%d%d)$")
  h, m = tonumber(h), tonumber(m)
  if not h or h > 24 or m > 59 or (h == 24 and m > 0) then return nil end
  return h * 60 + m
end

-- True when `window` ("open" or "HH:MM-HH:MM", UTC) contains the current time.
local function in_window(window)
  if window == "open" then return true end
  local from, to = (window or ""):match("^(%d%d?:%d%d)%-(%d%d?:%d%d)$")
  from, to = from and minutes(from), to and minutes(to)
  if not from or not to then
    error("maintenance_window must be \"open\" or \"HH:MM-HH:MM\" (UTC), got " .. tostring(window), 0)
  end
  local now = tonumber(os.date("!%H")) * 60 + tonumber(os.date("!%M"))
  if from <= to then return now >= from and now < to end
  return now >= from or now < to   -- wraps past midnight
end

local function audit(step, outcome, detail)
  op.execute([[INSERT INTO luamig_audit (revision, direction, message, outcome, detail, duration_ms, application_name)
               VALUES ($1, $2, $3, $4, $5, $6, current_setting('application_name'))]],
    step.revision, step.direction, step.message, outcome, detail, step.duration_ms)
end

function before_run(ctx)
  if #ctx.steps == 0 then return end
  local window = ctx.x.maintenance_window
  if window == nil then
    error("production migrations run only in a maintenance window: pass -x maintenance_window=open " ..
      "(or -x maintenance_window=HH:MM-HH:MM, UTC)", 0)
  end
  if not in_window(window) then
    error("outside the maintenance window " .. window .. " (UTC now " .. os.date("!%H:%M") .. "); nothing was run", 0)
  end
  -- Session-level: it outlasts this hook's transaction, for the whole run.
  op.execute("SELECT set_config('application_name', $1, false)", "luamig " .. ctx.command .. " (" .. ctx.environment .. ")")
  op.execute([[CREATE TABLE IF NOT EXISTS luamig_audit (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    revision varchar(32) NOT NULL,
    direction text NOT NULL,
    message text,
    outcome text NOT NULL,
    detail text,
    duration_ms bigint,
    application_name text,
    db_user text NOT NULL DEFAULT current_user)]])
end

function after_migration(step, ctx)
  audit(step, "applied", nil)
end

function on_error(step, err, ctx)
  audit(step, "failed", err.message .. (err.sqlstate and (" (SQLSTATE " .. err.sqlstate .. ")") or ""))
end
