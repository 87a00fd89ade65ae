"""token scopes: each API token reads, writes or does all its user's role allows; optional expiry

Revision ID: 0032_token_scopes
Revises: 0031_suppressions
Create Date: 2026-12-07 03:30:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0032_token_scopes"
down_revision = "0031_suppressions"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("api_tokens", schema=None, recreate="never") as batch_op:
        batch_op.add_column(
            sa.Column("scope", sa.String(length=5), server_default="admin", nullable=False)
        )
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    # Existing tokens keep their user's full role: the "admin" scope, which the role limits.


def downgrade():
    with op.batch_alter_table("api_tokens", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("expires_at")
        batch_op.drop_column("scope")
