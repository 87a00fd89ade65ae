"""queue: saved views, personal or shared with a team, and each agent's landing view

Revision ID: 0023_saved_views
Revises: 0022_assignment
Create Date: 2026-12-06 23:40:00

"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0023_saved_views"
down_revision = "0022_assignment"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "saved_views",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("query", sa.String(length=2000), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_saved_views_owner_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_saved_views_team_id_teams")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_views")),
    )
    op.create_index(op.f("ix_saved_views_owner_id"), "saved_views", ["owner_id"])
    op.create_index(op.f("ix_saved_views_team_id"), "saved_views", ["team_id"])
    # In place: rebuilding the users table would trip the many references to it.
    with op.batch_alter_table("users", schema=None, recreate="never") as batch_op:
        batch_op.add_column(sa.Column("home_view_id", sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table("users", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("home_view_id")
    op.drop_index(op.f("ix_saved_views_team_id"), table_name="saved_views")
    op.drop_index(op.f("ix_saved_views_owner_id"), table_name="saved_views")
    op.drop_table("saved_views")
