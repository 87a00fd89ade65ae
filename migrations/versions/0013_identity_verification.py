"""customers: identities are claims until proven

Revision ID: 0013_identity_verification
Revises: 0012_email_content_hash
Create Date: 2026-12-06 20:40:00

An address a chat visitor typed was stored like one a mail came from, and the next chat
typing it joined that customer. Identities now carry when they were proven (verified_at;
None for a claim). A proven identity is still one customer's alone, but several customers
may claim one meanwhile, so (kind, value) is unique among proven identities only.

Backfill: phone numbers, chat visitor ids and host-site users were proven by the message or
signature that brought them (or put there by staff); an email address is proven when a mail
from it reached its customer. The rest (addresses typed into the chat) stay claims.

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0013_identity_verification'
down_revision = '0012_email_content_hash'
branch_labels = None
depends_on = None

PROVEN = sa.text("verified_at IS NOT NULL")


def upgrade():
    with op.batch_alter_table('customer_identities', schema=None) as batch_op:
        batch_op.add_column(sa.Column('verified_at', sa.DateTime(timezone=True), nullable=True))
    op.execute(
        """
        UPDATE customer_identities SET verified_at = created_at
        WHERE kind IN ('phone', 'visitor', 'host_user')
           OR EXISTS (
               SELECT 1 FROM messages JOIN tickets ON tickets.id = messages.ticket_id
               WHERE tickets.customer_id = customer_identities.customer_id
                 AND messages.channel = 'email' AND messages.direction = 'inbound'
                 AND lower(messages.sender) = customer_identities.value)
        """
    )
    with op.batch_alter_table('customer_identities', schema=None) as batch_op:
        batch_op.drop_constraint('uq_customer_identities_kind_value', type_='unique')
        batch_op.create_unique_constraint(
            batch_op.f('uq_customer_identities_kind_value_customer_id'),
            ['kind', 'value', 'customer_id'],
        )
        batch_op.drop_column('verified')
    op.create_index(
        'uq_customer_identities_proven_kind_value',
        'customer_identities',
        ['kind', 'value'],
        unique=True,
        sqlite_where=PROVEN,
        postgresql_where=PROVEN,
    )


def downgrade():
    op.drop_index('uq_customer_identities_proven_kind_value', table_name='customer_identities')
    # One row per identity again: a claim of an identity someone else holds (or claimed
    # first) goes; the typed address stays on its chat conversation.
    op.execute(
        """
        DELETE FROM customer_identities
        WHERE verified_at IS NULL AND EXISTS (
            SELECT 1 FROM customer_identities AS other
            WHERE other.kind = customer_identities.kind
              AND other.value = customer_identities.value
              AND (other.verified_at IS NOT NULL OR other.id < customer_identities.id))
        """
    )
    with op.batch_alter_table('customer_identities', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('verified', sa.Boolean(), nullable=False, server_default=sa.false())
        )
    # Before this revision only a host-site signature marked an identity verified.
    op.execute("UPDATE customer_identities SET verified = (kind = 'host_user')")
    with op.batch_alter_table('customer_identities', schema=None) as batch_op:
        batch_op.alter_column('verified', server_default=None)
        batch_op.drop_constraint(
            batch_op.f('uq_customer_identities_kind_value_customer_id'), type_='unique'
        )
        batch_op.create_unique_constraint(
            batch_op.f('uq_customer_identities_kind_value'), ['kind', 'value']
        )
        batch_op.drop_column('verified_at')
