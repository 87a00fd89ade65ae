"""assignment: an agent's remembered "away" choice and when they went away

Revision ID: 0022_assignment
Revises: 0021_routing_rules
Create Date: 2026-12-07 10:00:00

Agents start each session available unless they chose to stay away; automatic assignment
notes when an agent stopped being assignable, so their unanswered tickets go back to their
teams once.

"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0022_assignment"
down_revision = "0021_routing_rules"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None, recreate="never") as batch_op:
        batch_op.add_column(
            sa.Column("stays_away", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("away_since", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("away_since")
        batch_op.drop_column("stays_away")
