"""The agent workspace: the queue, the ticket page, customers."""

from flask import Blueprint

bp = Blueprint("agent", __name__)

from helpdesk.web.agent import (  # noqa: E402,F401  (views register on bp)
    customer_records,
    email_views,
    follow_ups,
    macros,
    merges,
    outreach,
    outsiders,
    queue_tools,
    routes,
    stage_suggestions,
    ticket_trash,
)
