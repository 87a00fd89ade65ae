"""routing: ordered rules that give a new request its team and priority

Revision ID: 0021_routing_rules
Revises: 0020_ticket_merges
Create Date: 2026-12-07 09:00:00

Every condition a rule sets must hold; the first active rule that matches routes the ticket,
which remembers the rule by name (tickets.routing_rule, added with the teams).

"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0021_routing_rules"
down_revision = "0020_ticket_merges"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "routing_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("channel", sa.String(length=5), nullable=True),
        sa.Column("endpoint", sa.String(length=254), nullable=True),
        sa.Column("intake_stage", sa.String(length=11), nullable=True),
        sa.Column("stage", sa.String(length=11), nullable=True),
        sa.Column("tag", sa.String(length=50), nullable=True),
        sa.Column("priority", sa.String(length=6), nullable=True),
        sa.Column("subject_words", sa.String(length=200), nullable=True),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("gives_priority", sa.String(length=6), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_routing_rules_team_id_teams")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_rules")),
        sa.UniqueConstraint("name", name=op.f("uq_routing_rules_name")),
    )
    op.create_index(op.f("ix_routing_rules_position"), "routing_rules", ["position"])


def downgrade():
    op.drop_index(op.f("ix_routing_rules_position"), table_name="routing_rules")
    op.drop_table("routing_rules")
