-- luacheck configuration for the engine's Lua (lua/), the migration stdlib (stdlib/), the worked example
-- (migrations/, luamig.lua). Run: luacheck lua stdlib migrations luamig.lua   (CI: .ci/lint.sh)
std = "luajit"

-- Line length is not checked: SQL templates and error sentences are kept on one line so they can be found with
-- grep; C++ width is what clang-format enforces.
max_line_length = false

-- A template with $-placeholders, filled in by `luamig revision`; it is not Lua until then.
exclude_files = { "lua/templates/migration.lua" }

-- Migration files and hooks files run in the sandbox (lua/sandbox.lua), whose environment provides these.
local sandbox_globals = { "op", "context", "log", "require", "print" }

-- A migration file defines its header and its two functions as globals, which the engine reads back.
files["migrations/versions"] = {
  read_globals = sandbox_globals,
  globals = { "revision", "down_revision", "branch_labels", "depends_on", "upgrade", "downgrade" },
}

-- A hooks file defines some of these functions (src/runner/hooks.cpp); their signatures are fixed, so an argument
-- a hook does not use is still part of it.
files["migrations/hooks"] = {
  read_globals = sandbox_globals,
  globals = { "before_run", "before_migration", "after_migration", "after_run", "on_error" },
  unused_args = false,
}

-- The configuration file: settings are globals (src/config/settings.cpp), env() reads the environment.
local config = {
  read_globals = { "env" },
  globals = {
    "script_location", "url", "version_table", "version_table_schema", "transaction_per_migration",
    "lua_time_limit", "lua_memory_limit", "lock_timeout", "statement_timeout", "migration_lock_timeout",
    "lock_retries", "lock_retry_delay", "wait_for_db", "allow_downgrade", "hooks",
    "default_environment", "environments",
  },
}
files["luamig.lua"] = config
files["lua/templates/luamig.lua"] = config

-- stdlib modules are loaded into the sandbox environment, where `op` is the migration's op table.
files["stdlib"] = { read_globals = { "op" } }

-- A database's renderer implements one fixed interface (lua/dialect/interface.lua): an argument one database does
-- not need is still part of the signature.
files["lua/dialect"] = { unused_args = false }
