"""The survey question: what it says per kind (CSAT or NPS) and channel, the answer link, and
the bare score a text may carry.

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
from helpdesk.models import Survey, SurveyKind

SCALES = {SurveyKind.CSAT: range(1, 6), SurveyKind.NPS: range(0, 11)}
SCORE_LABELS = {1: "Very poor", 2: "Poor", 3: "OK", 4: "Good", 5: "Excellent"}
# What the ends of each scale mean, for the buttons' captions.
SCALE_ENDS = {
    SurveyKind.CSAT: ("Very poor", "Excellent"),
    SurveyKind.NPS: ("Not at all likely", "Extremely likely"),
}
# Plain ASCII: one en dash would switch the whole SMS to UCS-2 and shorten the segment.
SMS_QUESTION = "How did we do? Reply 1-5"
SMS_NPS_QUESTION = "How likely are you to recommend us to a friend? Reply 0-10 (10 = very likely)"
CHAT_QUESTION = "How did we do? Rate this conversation from 1 (poor) to 5 (excellent)."
CHAT_NPS_QUESTION = (
    "How likely are you to recommend us to a friend? Pick 0 (not at all) to 10 (extremely)."
)
# The thread reason of the question message: the chat widget draws rating buttons under it.
QUESTION_REASON = "satisfaction survey"
# Separates survey links from any other token signed with the same secret key.
_TOKEN_SALT = "helpdesk.csat-survey"
# "4", " 10 ", "3." — a text that is nothing but one number.
_BARE_NUMBER = re.compile(r"\s*(\d{1,2})\s*[.!]?\s*")


def question_text(survey: Survey, number: int) -> str:
    """The one question, worded for the survey's kind and channel."""
    nps = survey.kind == SurveyKind.NPS
    if survey.channel == Channel.SMS:
        return SMS_NPS_QUESTION if nps else SMS_QUESTION
    if survey.channel == Channel.CHAT:
        return CHAT_NPS_QUESTION if nps else CHAT_QUESTION
    ask = (
        "How likely are you to recommend us to a friend or colleague?\n\n"
        "Pick a number from 0 (not at all likely) to 10 (extremely likely)"
        if nps
        else "How did we do?\n\nRate our help from 1 to 5"
    )
    return (
        f"Your request #{number} is solved. {ask} (it takes one click, no login):\n"
        f"{survey_url(survey)}\n\n"
        "Thank you — your answer helps us get better."
    )


def chat_buttons(message_id: int) -> dict | None:
    """The scale the chat widget offers under a survey question message, else None."""
    kind = db.session.scalar(select(Survey.kind).where(Survey.question_id == message_id))
    if kind is None:
        return None
    low, high = SCALE_ENDS[kind]
    return {"kind": kind.value, "scores": list(SCALES[kind]), "low": low, "high": high}


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


def bare_score(text: str | None, kind: SurveyKind = SurveyKind.CSAT) -> int | None:
    """The score when a text is just one number on the kind's scale, else None."""
    match = _BARE_NUMBER.fullmatch(text or "")
    if match is None or int(match.group(1)) not in SCALES[kind]:
        return None
    return int(match.group(1))


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_TOKEN_SALT)
