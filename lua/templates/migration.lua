-- ${message}
--
-- Revision ID: ${revision}
-- Revises: ${revises}
-- Create Date: ${create_date}

revision = ${revision_lua}
down_revision = ${down_revision_lua}
branch_labels = ${branch_labels_lua}
depends_on = ${depends_on_lua}

function upgrade()
${upgrade_body}
end

function downgrade()
${downgrade_body}
end
