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
    app.add_template_filter(until)
    app.add_template_global(utcnow, "now")
    app.add_template_filter(duration)
    app.add_template_filter(percent)
    app.add_template_filter(file_size)
    app.add_template_global(url_with)
    app.add_template_global(STAGE_LABELS, "stage_labels")
    app.add_template_global(CHANNEL_LABELS, "channel_labels")
    app.add_template_global(IDENTITY_LABELS, "identity_labels")
    app.add_template_global(list(Stage), "stages")
    app.add_template_global(list(TicketStatus), "statuses")
    app.add_template_global(list(Priority), "priorities")


def file_size(size: int | None) -> str:
    """A file's size as people read it: "840 bytes", "12.5 KB", "3.2 MB"."""
    if size is None:
        return "not fetched yet"
    if size < 1024:
        return f"{size:,} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


def local_time(value: datetime | None, fmt: str = "%d %b %Y, %H:%M") -> str:
    """A UTC timestamp in the helpdesk's time zone."""
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(current_app.config["HELPDESK_TIMEZONE"])).strftime(fmt)


def ago(value: datetime | None, suffix: str = "") -> str:
    """How long ago, in the largest whole unit: "just now", "5 min", "3 h", "2 d" + suffix."""
    if value is None:
        return ""
    return _span(int((utcnow() - value).total_seconds()), suffix, "just now")


def until(value: datetime | None) -> str:
    """How long from now, in the largest whole unit: "5 min", "3 h", "2 d"."""
    if value is None:
        return ""
    return _span(int((value - utcnow()).total_seconds()), "", "a minute")


def _span(seconds: int, suffix: str, below_a_minute: str) -> str:
    seconds = max(0, seconds)
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{seconds // size} {unit}{suffix}"
    return below_a_minute


def duration(seconds: int | None) -> str:
    """Seconds as people read them: "45 s", "12 min", "3 h 20 min", "2 d 4 h"."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def percent(rate: float | None) -> str:
    """A 0–1 rate as a percentage with one decimal, "—" when there is nothing to divide."""
    return "—" if rate is None else f"{rate * 100:.1f} %"


def url_with(**changes: str | None) -> str:
    """This page's URL with some query parameters changed; None or "" removes one."""
    args = request.args.to_dict()
    for name, value in changes.items():
        if value in (None, ""):
            args.pop(name, None)
        else:
            args[name] = value
    return url_for(request.endpoint, **(request.view_args or {}), **args)
