"""tickets: marked as spam, deleted into the trash (who and when)

Revision ID: 0035_ticket_trash
Revises: 0034_login_defences
Create Date: 2026-12-07 05:10:00

Spam and deleted tickets are left out of the queue and the reports; a deleted one is purged
for good after 30 days. The stage report reads a range from its covering index alone, so the
index gains both timestamps, and so does the backlog's; the trash is listed and purged by ``deleted_at``.

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0035_ticket_trash"
down_revision = "0034_login_defences"
branch_labels = None
depends_on = None

_REPORT_COLUMNS = [
    "created_at",
    "stage",
    "channel",
    "assignee_id",
    "customer_id",
    "first_response_seconds",
    "resolution_seconds",
    "reopen_count",
    "first_response_due_at",
    "resolution_due_at",
    "first_response_breached_at",
    "resolution_breached_at",
    "team_id",
    "merged_into_id",
    "proactive",
]
_BACKLOG_COLUMNS = ["status", "created_at", "stage", "channel", "assignee_id", "team_id"]


def upgrade():
    with op.batch_alter_table("tickets", schema=None, recreate="never") as batch_op:
        batch_op.add_column(sa.Column("spam_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
    _add_user_reference("spam_by_id")
    _add_user_reference("deleted_by_id")
    op.create_index("ix_tickets_spam_at", "tickets", ["spam_at"])
    op.create_index("ix_tickets_deleted_at", "tickets", ["deleted_at"])
    op.drop_index("ix_tickets_report", table_name="tickets")
    op.create_index("ix_tickets_report", "tickets", [*_REPORT_COLUMNS, "spam_at", "deleted_at"])
    op.drop_index("ix_tickets_backlog", table_name="tickets")
    op.create_index("ix_tickets_backlog", "tickets", [*_BACKLOG_COLUMNS, "spam_at", "deleted_at"])


def _add_user_reference(column: str) -> None:
    """A nullable column referring to a user, added in place (see 0020: rebuilding tickets on
    SQLite would drop the search trigger and trip every reference to it)."""
    name = f"fk_tickets_{column}_users"
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            f"ALTER TABLE tickets ADD COLUMN {column} INTEGER CONSTRAINT {name} REFERENCES users (id)"
        )
        return
    op.add_column("tickets", sa.Column(column, sa.Integer(), nullable=True))
    op.create_foreign_key(name, "tickets", "users", [column], ["id"])


def downgrade():
    op.drop_index("ix_tickets_report", table_name="tickets")
    op.create_index("ix_tickets_report", "tickets", _REPORT_COLUMNS)
    op.drop_index("ix_tickets_backlog", table_name="tickets")
    op.create_index("ix_tickets_backlog", "tickets", _BACKLOG_COLUMNS)
    op.drop_index("ix_tickets_deleted_at", table_name="tickets")
    op.drop_index("ix_tickets_spam_at", table_name="tickets")
    for column in ("deleted_by_id", "spam_by_id"):
        if op.get_bind().dialect.name != "sqlite":
            op.drop_constraint(f"fk_tickets_{column}_users", "tickets", type_="foreignkey")
        with op.batch_alter_table("tickets", schema=None, recreate="never") as batch_op:
            batch_op.drop_column(column)
    with op.batch_alter_table("tickets", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("deleted_at")
        batch_op.drop_column("spam_at")
