"""tickets: the stage report's covering index gains proactive

Revision ID: 0027_dashboard_periods
Revises: 0026_customer_erasure
Create Date: 2026-12-07 03:00:00

The stage dashboard counts reactive and proactive arrivals apart and filters by who started a
ticket; it reads a range (and now the previous period too) from its covering index alone, so
the index gains ``proactive``.

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0027_dashboard_periods"
down_revision = "0026_customer_erasure"
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
]


def upgrade():
    op.drop_index("ix_tickets_report", table_name="tickets")
    op.create_index("ix_tickets_report", "tickets", [*_REPORT_COLUMNS, "proactive"])


def downgrade():
    op.drop_index("ix_tickets_report", table_name="tickets")
    op.create_index("ix_tickets_report", "tickets", _REPORT_COLUMNS)
