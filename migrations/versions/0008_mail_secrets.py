"""mailbox passwords encrypted at rest

Revision ID: 0008_mail_secrets
Revises: 0007_chat
Create Date: 2026-11-25 12:30:00

The columns are renamed so nobody reads a token for a password, and widened to Text (a Fernet
token is about 4/3 of the password plus 80 characters). Values are encrypted with the app's
key, as the app would, so this runs in the app context that flask-migrate provides.

"""
from alembic import op
import sqlalchemy as sa

from helpdesk import credentials


# revision identifiers, used by Alembic.
revision = '0008_mail_secrets'
down_revision = '0007_chat'
branch_labels = None
depends_on = None

_RENAMES = {'imap_password': 'imap_password_encrypted', 'smtp_password': 'smtp_password_encrypted'}


def upgrade():
    with op.batch_alter_table('mailboxes') as batch_op:
        for plain, encrypted in _RENAMES.items():
            batch_op.alter_column(
                plain, new_column_name=encrypted, type_=sa.Text(), existing_type=sa.String(500)
            )
    _convert(list(_RENAMES.values()), credentials.encrypt)


def downgrade():
    _convert(list(_RENAMES.values()), credentials.decrypt)
    with op.batch_alter_table('mailboxes') as batch_op:
        for plain, encrypted in _RENAMES.items():
            batch_op.alter_column(
                encrypted, new_column_name=plain, type_=sa.String(500), existing_type=sa.Text()
            )


def _convert(columns, convert):
    """Apply convert to every stored password (NULL stays NULL)."""
    mailboxes = sa.table('mailboxes', sa.column('id'), *(sa.column(name) for name in columns))
    connection = op.get_bind()
    for row in connection.execute(sa.select(mailboxes)).mappings().all():
        values = {name: convert(row[name]) for name in columns if row[name] is not None}
        connection.execute(
            mailboxes.update().where(mailboxes.c.id == row['id']).values(**values)
        )
