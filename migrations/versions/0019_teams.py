"""teams: agents in teams, tickets in a team, and what routed them there

Revision ID: 0019_teams
Revises: 0018_audit_events
Create Date: 2026-12-06 23:30:00

A ticket belongs to a team (or none); routing records which rule sent it there and why, and
whether a person has since set the team or priority by hand (routing then leaves it alone).

"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0019_teams"
down_revision = "0018_audit_events"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "teams",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("assignment", sa.String(length=11), server_default="off", nullable=False),
        sa.Column("capacity", sa.Integer(), server_default="10", nullable=False),
        sa.Column(
            "return_unanswered_when_away", sa.Boolean(), server_default="0", nullable=False
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teams")),
        sa.UniqueConstraint("name", name=op.f("uq_teams_name")),
    )
    op.create_table(
        "team_members",
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("last_assigned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_team_members_team_id_teams")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_team_members_user_id_users")
        ),
        sa.PrimaryKeyConstraint("team_id", "user_id", name=op.f("pk_team_members")),
    )
    op.create_index(op.f("ix_team_members_user_id"), "team_members", ["user_id"])
    _add_team_column()
    # In place: rebuilding the tickets table would trip the foreign keys that refer to it.
    with op.batch_alter_table("tickets", schema=None, recreate="never") as batch_op:
        batch_op.add_column(sa.Column("routing_rule", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("routing_reason", sa.String(length=300), nullable=True))
        for flag in ("team_set_by_hand", "priority_set_by_hand"):
            batch_op.add_column(
                sa.Column(flag, sa.Boolean(), server_default=sa.false(), nullable=False)
            )
    op.create_index("ix_tickets_team_id_created_at", "tickets", ["team_id", "created_at"])
    # The stage dashboard's team filter reads the team from its two indexes too.
    _index_report_columns(REPORT_COLUMNS + ["team_id"], BACKLOG_COLUMNS + ["team_id"])


REPORT_COLUMNS = [
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
]
BACKLOG_COLUMNS = ["status", "created_at", "stage", "channel", "assignee_id"]


def _index_report_columns(report, backlog):
    for name, columns in (("ix_tickets_report", report), ("ix_tickets_backlog", backlog)):
        op.drop_index(name, table_name="tickets")
        op.create_index(name, "tickets", columns)


def _add_team_column():
    if op.get_bind().dialect.name == "sqlite":
        # SQLite adds a column with its reference in place but cannot add a constraint later.
        op.execute(
            "ALTER TABLE tickets ADD COLUMN team_id INTEGER"
            " CONSTRAINT fk_tickets_team_id_teams REFERENCES teams (id)"
        )
        return
    op.add_column("tickets", sa.Column("team_id", sa.Integer(), nullable=True))
    op.create_foreign_key(op.f("fk_tickets_team_id_teams"), "tickets", "teams", ["team_id"], ["id"])


def downgrade():
    _index_report_columns(REPORT_COLUMNS, BACKLOG_COLUMNS)
    op.drop_index("ix_tickets_team_id_created_at", table_name="tickets")
    with op.batch_alter_table("tickets", schema=None, recreate="never") as batch_op:
        for column in (
            "priority_set_by_hand",
            "team_set_by_hand",
            "routing_reason",
            "routing_rule",
            "team_id",
        ):
            batch_op.drop_column(column)
    op.drop_index(op.f("ix_team_members_user_id"), table_name="team_members")
    op.drop_table("team_members")
    op.drop_table("teams")
