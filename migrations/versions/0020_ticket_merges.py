"""tickets: merged into another, split from another; events copied from a merged ticket

Revision ID: 0020_ticket_merges
Revises: 0019_teams
Create Date: 2026-12-07 10:00:00

A merged ticket points at the ticket its conversation moved to (threading follows it there);
a split-off ticket at the one it came from. The stage report leaves merged tickets out and
reads a range from its covering index alone, so the index gains ``merged_into_id``.

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0020_ticket_merges"
down_revision = "0019_teams"
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
]


def upgrade():
    _add_reference("tickets", "merged_into_id")
    _add_reference("tickets", "split_from_id")
    _add_reference("ticket_events", "merged_from_id")
    op.create_index("ix_tickets_merged_into_id", "tickets", ["merged_into_id"])
    op.create_index("ix_tickets_split_from_id", "tickets", ["split_from_id"])
    op.drop_index("ix_tickets_report", table_name="tickets")
    op.create_index("ix_tickets_report", "tickets", [*_REPORT_COLUMNS, "merged_into_id"])


def _add_reference(table: str, column: str) -> None:
    """A nullable column referring to a ticket, added in place.

    Rebuilding tickets on SQLite would drop the search index's trigger (0002) and trip the
    foreign keys of every row that refers to it; SQLite adds a column with its reference in
    one ALTER, which Alembic does not emit.
    """
    name = f"fk_{table}_{column}_tickets"
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            f"ALTER TABLE {table} ADD COLUMN {column} INTEGER "
            f"CONSTRAINT {name} REFERENCES tickets (id)"
        )
        return
    op.add_column(table, sa.Column(column, sa.Integer(), nullable=True))
    op.create_foreign_key(name, table, "tickets", [column], ["id"])


def downgrade():
    op.drop_index("ix_tickets_report", table_name="tickets")
    op.create_index("ix_tickets_report", "tickets", _REPORT_COLUMNS)
    op.drop_index("ix_tickets_split_from_id", table_name="tickets")
    op.drop_index("ix_tickets_merged_into_id", table_name="tickets")
    # In place (SQLite 3.35+ drops a column itself), for the reasons above.
    for table, column in (
        ("ticket_events", "merged_from_id"),
        ("tickets", "split_from_id"),
        ("tickets", "merged_into_id"),
    ):
        if op.get_bind().dialect.name != "sqlite":
            op.drop_constraint(f"fk_{table}_{column}_tickets", table, type_="foreignkey")
        with op.batch_alter_table(table, schema=None, recreate="never") as batch_op:
            batch_op.drop_column(column)
