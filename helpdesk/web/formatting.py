"""Template filters and globals: local times, "how long ago", labels for states and stages."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Flask, current_app, request, url_for

from channels.base import Channel
from helpdesk.models import IdentityKind, Priority, Stage, TicketStatus, utcnow

STAGE_LABELS = {stage: stage.value.capitalize() for stage in Stage}
CHANNEL_LABELS = {Channel.EMAIL: "Email", Channel.SMS: "SMS", Channel.CHAT: "Chat"}
IDENTITY_LABELS = {
    IdentityKind.EMAIL: "Email",
    IdentityKind.PHONE: "Phone",
    IdentityKind.VISITOR: "Chat visitor",
    IdentityKind.HOST_USER: "Site user",
}


def init_app(app: Flask) -> None:
    app.add_template_filter(local_time)
    app.add_template_filter(ago)
    app.add_template_global(url_with)
    app.add_template_global(STAGE_LABELS, "stage_labels")
    app.add_template_global(CHANNEL_LABELS, "channel_labels")
    app.add_template_global(IDENTITY_LABELS, "identity_labels")
    app.add_template_global(list(Stage), "stages")
    app.add_template_global(list(TicketStatus), "statuses")
    app.add_template_global(list(Priority), "priorities")


def local_time(value: datetime | None, fmt: str = "%d %b %Y, %H:%M") -> str:
    """A UTC timestamp in the helpdesk's time zone."""
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(current_app.config["HELPDESK_TIMEZONE"])).strftime(fmt)


def ago(value: datetime | None, suffix: str = "") -> str:
    """How long ago, in the largest whole unit: "just now", "5 min", "3 h", "2 d" + suffix."""
    if value is None:
        return ""
    seconds = max(0, int((utcnow() - value).total_seconds()))
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{seconds // size} {unit}{suffix}"
    return "just now"


def url_with(**changes: str | None) -> str:
    """This page's URL with some query parameters changed; None or "" removes one."""
    args = request.args.to_dict()
    for name, value in changes.items():
        if value in (None, ""):
            args.pop(name, None)
        else:
            args[name] = value
    return url_for(request.endpoint, **(request.view_args or {}), **args)
