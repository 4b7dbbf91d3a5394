-- create users
--
-- Revision ID: 4c1f3a9b7d20
-- Revises:
-- Create Date: 2026-11-21 10:00:00

revision = "4c1f3a9b7d20"
down_revision = nil
branch_labels = nil
depends_on = nil

-- The user service's User model, as a baseline. Defaults live in the database so that every writer gets them.
-- op.types are portable: serial is SERIAL on PostgreSQL and INTEGER PRIMARY KEY AUTOINCREMENT on SQLite.
local T = op.types

-- Timestamps are UTC, like the model's datetime.utcnow: PostgreSQL's now() carries a time zone, SQLite's
-- CURRENT_TIMESTAMP is UTC already.
local utc_now = op.dialect == "postgresql" and op.text("(now() at time zone 'utc')") or op.text("CURRENT_TIMESTAMP")

function upgrade()
  op.create_table("users",
    { "id", T.serial, primary_key = true },
    { "email", T.string(255), nullable = false, unique = true },
    { "first_name", T.string(100), nullable = false },
    { "last_name", T.string(100), nullable = false },
    { "password_hash", T.string(255), nullable = false },
    { "role", T.string(50), nullable = false, default = "student" },
    { "is_active", T.boolean, nullable = false, default = true },
    { "is_verified", T.boolean, nullable = false, default = false },
    { "created_at", T.timestamp, nullable = false, default = utc_now },
    { "updated_at", T.timestamp, nullable = false, default = utc_now }
  )
end

function downgrade()
  op.drop_table("users")
end
