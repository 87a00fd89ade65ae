"""The satisfaction (CSAT) survey: what the question says per channel and the answer link.

The ticket service (``ratings``) decides when to ask and stores answers; this module only
words the question, signs the link to the public survey page and reads a bare score from a text.
"""

from __future__ import annotations

import re

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select

from channels.base import Channel
from helpdesk.extensions import db
from helpdesk.models import Survey

SCORES = range(1, 6)
SCORE_LABELS = {1: "Very poor", 2: "Poor", 3: "OK", 4: "Good", 5: "Excellent"}
# Plain ASCII: one en dash would switch the whole SMS to UCS-2 and shorten the segment.
SMS_QUESTION = "How did we do? Reply 1-5"
CHAT_QUESTION = "How did we do? Rate this conversation from 1 (poor) to 5 (excellent)."
# Separates survey links from any other token signed with the same secret key.
_TOKEN_SALT = "helpdesk.csat-survey"
# "4", " 5 ", "3." — a text that is nothing but one score.
_BARE_SCORE = re.compile(r"\s*([1-5])\s*[.!]?\s*")


def enabled() -> bool:
    """True when solved tickets get the survey question (HELPDESK_CSAT=on)."""
    return bool(current_app.config["HELPDESK_CSAT"])


def question_text(survey: Survey, number: int) -> str:
    """The one question, worded for the survey's channel."""
    if survey.channel == Channel.SMS:
        return SMS_QUESTION
    if survey.channel == Channel.CHAT:
        return CHAT_QUESTION
    return (
        f"Your request #{number} is solved. How did we do?\n\n"
        f"Rate our help from 1 to 5 (it takes one click, no login):\n{survey_url(survey)}\n\n"
        "Thank you — your answer helps us get better."
    )


def survey_url(survey: Survey) -> str:
    """The signed public link to the survey page."""
    base = current_app.config["HELPDESK_PUBLIC_URL"].rstrip("/")
    return f"{base}/survey/{_serializer().dumps(survey.ticket_id)}"


def survey_for_token(token: str) -> Survey | None:
    """The survey a link's token names, or None when it was not signed by us."""
    try:
        ticket_id = _serializer().loads(token)
    except BadSignature:
        return None
    if not isinstance(ticket_id, int):
        return None
    return db.session.scalar(select(Survey).where(Survey.ticket_id == ticket_id))


def bare_score(text: str | None) -> int | None:
    """The score when a text is just one digit 1-5, else None."""
    match = _BARE_SCORE.fullmatch(text or "")
    return int(match.group(1)) if match else None


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_TOKEN_SALT)
