"""Files on a message: stored at once when they come with it, fetched later when a provider
hosts them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from channels.base import MediaLink
from helpdesk.extensions import db
from helpdesk.models import Attachment, Message
from helpdesk.storage import blob_store


def ticket_files(ticket_id: int) -> list[Attachment]:
    """Every file on the ticket's messages (received, sent, still to fetch), in thread order."""
    return list(
        db.session.scalars(
            select(Attachment)
            .join(Message, Attachment.message_id == Message.id)
            .where(Message.ticket_id == ticket_id)
            .order_by(Message.created_at, Message.id, Attachment.id)
        )
    )


def _store_attachments(message: Message, attachments) -> None:
    store = blob_store() if attachments else None
    for item in attachments:
        key = store.put(item.data)
        message.attachments.append(
            Attachment(
                filename=item.filename[:255] or "attachment",
                content_type=item.content_type[:120],
                size=len(item.data),
                storage_key=key,
                content_id=item.content_id,
                inline=item.inline,
            )
        )


def _record_media(message: Message, media: tuple[MediaLink, ...], at: datetime) -> None:
    """Every provider-hosted file is on the message at once; the worker fetches the bytes."""
    for item in media:
        message.attachments.append(
            Attachment(
                filename=item.filename[:255] or "attachment",
                content_type=item.content_type[:120],
                source_url=item.url,
                next_fetch_at=at,
            )
        )
