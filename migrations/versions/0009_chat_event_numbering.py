"""chat: PostgreSQL numbers chat events as their transaction commits

Revision ID: 0009_chat_numbering
Revises: 0008_mail_secrets
Create Date: 2026-11-25 12:15:00

Event ids come from the "chat_event" counter row, whose lock is held until commit so ids
become visible in id order. Taken when the event was written, that lock made every chat
write in every web process wait for the one holding it, for as long as its process took
to send its remaining statements and COMMIT (tens of milliseconds on a busy process). On
PostgreSQL an event is now written with a stand-in id (the negative of a sequence value) and a
deferred trigger gives it its real number inside COMMIT: the lock is held for microseconds.
SQLite already lets one writer at a time, so it keeps numbering events as they are written.

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0009_chat_numbering'
down_revision = '0008_mail_secrets'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE SEQUENCE chat_event_drafts")
    op.execute(
        """
        CREATE FUNCTION number_chat_event() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            number integer;
        BEGIN
            UPDATE counters SET value = value + 1 WHERE name = 'chat_event'
                RETURNING value INTO number;
            IF number IS NULL THEN
                INSERT INTO counters (name, value) VALUES ('chat_event', 0)
                    ON CONFLICT (name) DO NOTHING;
                UPDATE counters SET value = value + 1 WHERE name = 'chat_event'
                    RETURNING value INTO number;
            END IF;
            UPDATE chat_events SET id = number WHERE id = NEW.id;
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        """
        CREATE CONSTRAINT TRIGGER number_chat_event AFTER INSERT ON chat_events
            DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION number_chat_event()
        """
    )


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER number_chat_event ON chat_events")
    op.execute("DROP FUNCTION number_chat_event()")
    op.execute("DROP SEQUENCE chat_event_drafts")
