-- luamig configuration for the worked example in migrations/ (the `users` table of a user service).
-- Evaluated as Lua; env("NAME", default) reads an environment variable.

-- Where migration files live: <script_location>/versions/*.lua
script_location = "migrations"

-- The database comes from --url or $DATABASE_URL; never commit a password here.
-- url = env("DATABASE_URL", "postgresql://localhost/app")

-- Alembic's version table: keep it as it is to share the database with Alembic.
-- version_table = "alembic_version"

-- One transaction per revision (true), or one for the whole command (false).
transaction_per_migration = true
