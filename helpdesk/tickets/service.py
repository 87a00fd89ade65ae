"""The ticket service: the only place that decides what happens to a ticket.

Every function flushes and never commits: the request, CLI command or job commits once.

Callers use this module; the rules live by concern in:

- ``intake``: inbound messages onto their tickets (threading, reopening, new tickets, keywords);
- ``conversation``: replies, notes, automatic answers and verification links;
- ``properties``: team, assignee, status, priority and stage, and a proven identity's customer;
- ``routing``: a new ticket's team and priority by the routing rules, again on a stage correction;
- ``ratings``: the satisfaction survey asked and answered;
- ``tags``: the tags agents put on tickets;
- ``macros``: reply texts with placeholders and ticket changes, applied in one go;
- ``merging``: a ticket merged into another, or split in two;
- ``outbound``: where a queued message goes and whether it may (opt-outs);
- ``attachments``: the files on a message;
- ``events``: the ticket's events, written by all of the above.

Their names with a leading underscore are for one another only, never for callers.
"""

from helpdesk.tickets.conversation import (
    REPLY_LIMITS,
    add_note,
    reply,
    retry_delivery,
    send_automatic,
    send_verification_link,
)
from helpdesk.tickets.errors import InvalidInput, TicketError
from helpdesk.tickets.events import SUBJECT_LENGTH, record_event
from helpdesk.tickets.follow_ups import mark_followed_up
from helpdesk.tickets.intake import (
    Intake,
    intake_batch,
    next_ticket_number,
    receive,
    serialise_intakes,
    take,
)
from helpdesk.tickets.macros import (
    InvalidMacro,
    MacroFields,
    apply_macro,
    create_macro,
    delete_macro,
    shared_macros,
    update_macro,
    visible_macro,
    visible_macros,
)
from helpdesk.tickets.merging import (
    MergeRefused,
    check_merge,
    merge,
    split,
    split_into,
    split_parts,
)
from helpdesk.tickets.outbound import delivery_block, recipient_opted_out, reply_block
from helpdesk.tickets.properties import (
    assign,
    confirm_identity,
    set_priority,
    set_stage,
    set_status,
    set_team,
)
from helpdesk.tickets.ratings import (
    COMMENT_LENGTH,
    answer_survey,
    ask_for_rating,
    comment_on_survey,
    survey_of,
)
from helpdesk.tickets.tags import add_tag, known_tags, remove_tag, set_tags, tag_name, tag_uses

__all__ = [
    "COMMENT_LENGTH",
    "REPLY_LIMITS",
    "SUBJECT_LENGTH",
    "Intake",
    "InvalidInput",
    "InvalidMacro",
    "MacroFields",
    "MergeRefused",
    "TicketError",
    "add_note",
    "add_tag",
    "answer_survey",
    "apply_macro",
    "ask_for_rating",
    "assign",
    "check_merge",
    "comment_on_survey",
    "confirm_identity",
    "create_macro",
    "delete_macro",
    "delivery_block",
    "intake_batch",
    "known_tags",
    "mark_followed_up",
    "merge",
    "next_ticket_number",
    "receive",
    "recipient_opted_out",
    "record_event",
    "remove_tag",
    "reply",
    "reply_block",
    "retry_delivery",
    "send_automatic",
    "send_verification_link",
    "serialise_intakes",
    "set_priority",
    "set_stage",
    "set_status",
    "set_tags",
    "set_team",
    "shared_macros",
    "split",
    "split_into",
    "split_parts",
    "survey_of",
    "tag_name",
    "tag_uses",
    "take",
    "update_macro",
    "visible_macro",
    "visible_macros",
]
