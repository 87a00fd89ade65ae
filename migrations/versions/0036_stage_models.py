"""stage models: trained stage classifiers with their figures, and what one said of a ticket

Revision ID: 0036_stage_models
Revises: 0035_ticket_trash
Create Date: 2026-12-07 05:30:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0036_stage_models"
down_revision = "0035_ticket_trash"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "stage_models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("examples", sa.Integer(), nullable=False),
        sa.Column("stage_counts", sa.JSON(), nullable=False),
        sa.Column("holdout_size", sa.Integer(), nullable=False),
        sa.Column("accuracy", sa.Float(), nullable=False),
        sa.Column("macro_f1", sa.Float(), nullable=False),
        sa.Column("baseline_accuracy", sa.Float(), nullable=False),
        sa.Column("baseline_macro_f1", sa.Float(), nullable=False),
        sa.Column("per_stage", sa.JSON(), nullable=False),
        sa.Column("corrections_seen", sa.Integer(), nullable=False),
        sa.Column("promoted", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("verdict", sa.String(length=300), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("payload_sha256", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stage_models")),
    )
    op.create_table(
        "stage_predictions",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=11), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("decided", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("baseline_stage", sa.String(length=11), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id"], ["stage_models.id"], name=op.f("fk_stage_predictions_model_id_stage_models")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_stage_predictions_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_stage_predictions")),
    )
    op.create_index(
        op.f("ix_stage_predictions_model_id"), "stage_predictions", ["model_id"], unique=False
    )


def downgrade():
    op.drop_index(op.f("ix_stage_predictions_model_id"), table_name="stage_predictions")
    op.drop_table("stage_predictions")
    op.drop_table("stage_models")
