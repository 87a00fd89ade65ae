"""tickets: macros, a reply text with placeholders and the ticket changes that go with it

Revision ID: 0016_macros
Revises: 0015_tags
Create Date: 2026-12-06 21:50:00

A macro without an owner is shared (kept by admins); one with an owner is that agent's own.

"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0016_macros"
down_revision = "0015_tags"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "macros",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=7), nullable=True),
        sa.Column("priority", sa.String(length=6), nullable=True),
        sa.Column("stage", sa.String(length=11), nullable=True),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("use_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignee_id"], ["users.id"], name=op.f("fk_macros_assignee_id_users")
        ),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name=op.f("fk_macros_owner_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_macros")),
    )
    op.create_index(op.f("ix_macros_owner_id"), "macros", ["owner_id"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_macros_owner_id"), table_name="macros")
    op.drop_table("macros")
