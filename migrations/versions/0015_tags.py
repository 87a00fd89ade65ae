"""tickets: tags agents put on tickets

Revision ID: 0015_tags
Revises: 0014_inbox_senders
Create Date: 2026-12-06 21:40:00

One row per tag name, shared by the tickets that carry it; the queue's and the API's tag filter
goes from a tag to its tickets through the link table's tag index.

"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0015_tags"
down_revision = "0014_inbox_senders"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "tags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tags")),
        sa.UniqueConstraint("name", name=op.f("uq_tags_name")),
    )
    op.create_table(
        "ticket_tags",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("tag_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tag_id"], ["tags.id"], name=op.f("fk_ticket_tags_tag_id_tags")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_tags_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("ticket_id", "tag_id", name=op.f("pk_ticket_tags")),
    )
    op.create_index(op.f("ix_ticket_tags_tag_id"), "ticket_tags", ["tag_id"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_ticket_tags_tag_id"), table_name="ticket_tags")
    op.drop_table("ticket_tags")
    op.drop_table("tags")
