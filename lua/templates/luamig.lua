-- luamig configuration. Evaluated as Lua; env("NAME", default) reads an environment variable.

-- Where migration files live: <script_location>/versions/*.lua
script_location = "migrations"

-- The database. --url and $DATABASE_URL are used when this is unset. Never commit a password here:
-- read it from the environment instead.
-- url = env("DATABASE_URL", "postgresql://localhost/app")

-- Alembic's version table; keep these as they are to share a database with Alembic.
-- version_table = "alembic_version"
-- version_table_schema = nil

-- One transaction per revision (true), or one for the whole command (false).
-- transaction_per_migration = true

-- Limits for Lua code in migrations.
-- lua_time_limit = "60s"
-- lua_memory_limit = "512MiB"

-- Environments: the same migrations against different databases, with their own settings and hooks. Any setting
-- above may also be set per environment; the command line (--url, --set KEY=VALUE) wins over both. Pick one with
-- -e NAME or $LUAMIG_ENV; `luamig config` shows what applies and why.
-- default_environment = "development"
-- environments = {
--   development = { url = env("DATABASE_URL", "sqlite:///luamig.db") },
--   production = {
--     url = env("DATABASE_URL"),
--     hooks = { "hooks/production.lua" },   -- relative to script_location
--     lock_timeout = "5s",                  -- SET LOCAL lock_timeout in every migration transaction
--     statement_timeout = "10min",
--     allow_downgrade = false,              -- downgrade needs --force
--     lint_on_upgrade = true,               -- upgrade runs `luamig lint`'s error rules first
--   },
-- }
