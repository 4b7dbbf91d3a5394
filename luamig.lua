-- luamig configuration for the worked example in migrations/ (the `users` table of a user service).
-- Evaluated as Lua; env("NAME", default) reads an environment variable. `luamig config` shows every resolved
-- setting and where it came from; docs/environments.md explains environments and hooks.

-- Where migration files live: <script_location>/versions/*.lua (hooks files are relative to it too)
script_location = "migrations"

-- Alembic's version table: keep it as it is to share the database with Alembic.
-- version_table = "alembic_version"

-- One transaction per revision (true), or one for the whole command (false).
transaction_per_migration = true

-- Which environment runs when neither -e NAME nor $LUAMIG_ENV picks one.
default_environment = "development"

-- Never commit a password here: read URLs from the environment. --url overrides any of them.
environments = {
  -- Local work: $DATABASE_URL, else the zero-setup SQLite file ./luamig.db.
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
