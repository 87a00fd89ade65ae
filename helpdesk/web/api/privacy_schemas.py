"""The API's shapes for a customer's erasure."""

from __future__ import annotations

from helpdesk.web.api.schemas import Response


class Erasure(Response):
    """What erasing the customer removed or blanked, counted by kind; nothing personal."""

    customer_id: int
    tickets_kept: int
    messages_blanked: int
    attachments_removed: int
    files_removed: int
    identities_removed: int
    chat_conversations_removed: int
    chat_events_removed: int
    inbox_items_removed: int
    stray_emails_removed: int
    search_entries_removed: int
    ticket_events_redacted: int
    survey_comments_removed: int
    audit_events_redacted: int
    webhook_payloads_removed: int
