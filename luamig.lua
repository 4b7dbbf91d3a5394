-- luamig configuration for the example in migrations/. Evaluated as Lua; env("NAME", default) reads a variable.
-- `luamig config` shows every resolved setting and where it came from.

script_location = "migrations"

-- Which environment runs when neither -e NAME nor $LUAMIG_ENV picks one.
default_environment = "development"

environments = {
  -- Local work: $DATABASE_URL, else a SQLite file next to this one.
  development = {
    url = env("DATABASE_URL", "sqlite:///luamig.db"),
    hooks = "hooks/shared.lua",
  },
  -- luamig -e production upgrade head -x maintenance_window=open
  production = {
    url = env("DATABASE_URL"),   -- required: a named environment never falls back to a local file
    hooks = { "hooks/shared.lua", "hooks/production.lua" },   -- run in this order
    lock_timeout = "5s",          -- SET LOCAL in every migration transaction: DDL waiting on a busy table gives up
    statement_timeout = "10min",  -- ... and so does a runaway statement
    allow_downgrade = false,      -- `downgrade` refuses unless --force
  },
}
