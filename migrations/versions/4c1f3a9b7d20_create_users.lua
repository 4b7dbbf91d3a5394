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
function upgrade()
  op.create_table("users",
    { "id", "serial", primary_key = true },
    { "email", "varchar(255)", nullable = false, unique = true },
    { "first_name", "varchar(100)", nullable = false },
    { "last_name", "varchar(100)", nullable = false },
    { "password_hash", "varchar(255)", nullable = false },
    { "role", "varchar(50)", nullable = false, default = "student" },
    { "is_active", "boolean", nullable = false, default = true },
    { "is_verified", "boolean", nullable = false, default = false },
    { "created_at", "timestamp", nullable = false, default = op.text("(now() at time zone 'utc')") },
    { "updated_at", "timestamp", nullable = false, default = op.text("(now() at time zone 'utc')") }
  )
end

function downgrade()
  op.drop_table("users")
end
