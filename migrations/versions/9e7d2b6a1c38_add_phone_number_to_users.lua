-- add phone_number to users
--
-- Revision ID: 9e7d2b6a1c38
-- Revises: 4c1f3a9b7d20
-- Create Date: 2026-11-21 10:05:00

revision = "9e7d2b6a1c38"
down_revision = "4c1f3a9b7d20"
branch_labels = nil
depends_on = nil

-- Nullable: existing users have no phone number.
function upgrade()
  op.add_column("users", { "phone_number", "varchar(20)", nullable = true })
end

function downgrade()
  op.drop_column("users", "phone_number")
end
