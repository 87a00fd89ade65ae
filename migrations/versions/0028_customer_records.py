"""customers: notes, a version for stale-page checks, and the customer a merged one went into

Revision ID: 0028_customer_records
Revises: 0027_dashboard_periods
Create Date: 2026-12-07 02:30:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0028_customer_records"
down_revision = "0027_dashboard_periods"
branch_labels = None
depends_on = None

_FK = "fk_customers_merged_into_id_customers"


def upgrade():
    with op.batch_alter_table("customers", schema=None, recreate="never") as batch_op:
        batch_op.add_column(sa.Column("notes", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("version", sa.Integer(), server_default="1", nullable=False)
        )
    # Rebuilding customers on SQLite would trip the foreign keys of every row that refers to
    # it; SQLite adds a column with its reference in one ALTER, which Alembic does not emit.
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            f"ALTER TABLE customers ADD COLUMN merged_into_id INTEGER "
            f"CONSTRAINT {_FK} REFERENCES customers (id)"
        )
    else:
        op.add_column("customers", sa.Column("merged_into_id", sa.Integer(), nullable=True))
        op.create_foreign_key(_FK, "customers", "customers", ["merged_into_id"], ["id"])
    op.create_index("ix_customers_merged_into_id", "customers", ["merged_into_id"])


def downgrade():
    op.drop_index("ix_customers_merged_into_id", table_name="customers")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(_FK, "customers", type_="foreignkey")
    # In place (SQLite 3.35+ drops a column itself), for the reasons above.
    with op.batch_alter_table("customers", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("merged_into_id")
        batch_op.drop_column("version")
        batch_op.drop_column("notes")
