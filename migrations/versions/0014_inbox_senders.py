"""inbox: each item keeps its sender, so the worker takes a sender's items in their order

Revision ID: 0014_inbox_senders
Revises: 0013_identity_verification
Create Date: 2026-12-06 20:50:00

Two workers could each claim texts of one sender and store the later one first. The worker
now leaves an item for the next round while an older one of its sender is due elsewhere, and
finds those by this column. Items not taken in yet get their sender from the stored form.

"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0014_inbox_senders"
down_revision = "0013_identity_verification"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("inbox_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sender", sa.String(length=300), nullable=True))
        batch_op.create_index("ix_inbox_items_sender", ["sender", "processed_at"], unique=False)
    items = sa.table(
        "inbox_items",
        sa.column("id", sa.Integer),
        sa.column("sender", sa.String),
        sa.column("payload", sa.JSON),
        sa.column("processed_at", sa.DateTime),
    )
    bind = op.get_bind()
    waiting = bind.execute(
        sa.select(items.c.id, items.c.payload).where(items.c.processed_at.is_(None))
    ).all()
    for item_id, payload in waiting:
        bind.execute(
            items.update().where(items.c.id == item_id).values(sender=(payload or {}).get("From"))
        )


def downgrade():
    with op.batch_alter_table("inbox_items", schema=None) as batch_op:
        batch_op.drop_index("ix_inbox_items_sender")
        batch_op.drop_column("sender")
