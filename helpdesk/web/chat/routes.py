"""Chat endpoints: thin views behind a registered-origin check and a signed visitor token.

They are CSRF-exempt (the host page is another origin): the visitor token, the origin check
and CORS headers for registered origins only take CSRF's place. The widget posts JSON as
text/plain, a "simple" request, so browsers need no preflight round trip.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import abort, current_app, jsonify, request, send_file
from sqlalchemy import select
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from channels.base import InboundMessage
from channels.webchat import (
    MAX_NAME,
    ChatInputError,
    clean_email,
    clean_text,
    host_user_verified,
    parse_message,
)
from helpdesk.chat import events, presence, sites, visitors
from helpdesk.extensions import db, limiter
from helpdesk.models import ChatConversation, Endpoint, Stage, Ticket
from helpdesk.tickets import chat_messages, service
from helpdesk.tickets.errors import TicketError
from helpdesk.web.chat import bp
from helpdesk.web.live import event_stream, resume_point

WIDGET = Path(__file__).resolve().parent.parent.parent / "static" / "chat" / "widget.js"
MAX_BODY = 16 * 1024
# Where a view notes the request's origin once checked, for the CORS headers.
ALLOWED_ORIGIN = "helpdesk.chat.origin"


def _limit(name: str):
    return lambda: current_app.config[name]


def _visitor_key() -> str:
    token = _body().get("token") or request.args.get("token")
    return f"visitor:{token}" if isinstance(token, str) and token else f"ip:{_client_ip()}"


def _client_ip() -> str:
    return request.remote_addr or "unknown"


@bp.get("/widget.js")
def widget() -> Response:
    response = send_file(WIDGET, mimetype="text/javascript", max_age=300)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/api/sites/<key>")
def site_settings(key: str) -> Response:
    site = _site_for_origin(key)
    return jsonify(
        name=site.label,
        online=presence.agents_online(),
        choices=[{"label": c.label, "stage": c.stage.value} for c in sites.choices_of(site)],
    )


@bp.post("/api/sites/<key>/conversations")
@limiter.limit(_limit("HELPDESK_CHAT_LIMIT_CONVERSATIONS_PER_IP"), key_func=_client_ip)
def start_conversation(key: str) -> tuple[Response, int]:
    site = _site_for_origin(key)
    body = _body()
    try:
        name = clean_text(body.get("name"), MAX_NAME, "name")
        email = clean_email(body.get("email"))
        stage = _chosen_stage(site, body.get("stage"))
        host_user_id = _host_user(site, body.get("user_id"), body.get("user_hash"))
    except ChatInputError as refused:
        return _error(400, "invalid", str(refused))
    if email is None and not presence.agents_online():
        return _error(400, "email-required", "Nobody is online: leave your email for the reply.")
    conversation = visitors.start_conversation(
        site, name=name, email=email, chosen_stage=stage, host_user_id=host_user_id
    )
    token = visitors.visitor_token(conversation, current_app.config["SECRET_KEY"])
    db.session.commit()
    return jsonify(token=token, conversation=conversation.id), 201


@bp.post("/api/messages")
@limiter.limit(_limit("HELPDESK_CHAT_LIMIT_MESSAGES_PER_VISITOR"), key_func=_visitor_key)
@limiter.limit(_limit("HELPDESK_CHAT_LIMIT_MESSAGES_PER_IP"), key_func=_client_ip)
def post_message() -> tuple[Response, int]:
    chat = _chat()
    try:
        msg = parse_message(chat.visitor, _body())
    except ChatInputError as refused:
        return _error(400, "invalid", str(refused))
    # The next message of an open chat in a few statements; anything more, by the service.
    stored = chat_messages.take_visitor_message(msg, chat)
    if stored is None:
        return _take_by_service(msg)
    presence.note_visitor_seen_by_id(chat.visitor.conversation_id, chat.last_seen_at)
    db.session.commit()
    # A resent message (same client id) was stored the first time: say so, change nothing.
    return jsonify(stored=stored), 201 if stored else 200


def _take_by_service(msg: InboundMessage) -> tuple[Response, int]:
    try:
        stored = service.receive(msg)
    except TicketError as refused:
        db.session.rollback()
        return _error(400, "invalid", str(refused))
    conversation = db.session.get(ChatConversation, msg.conversation_id)
    if conversation is not None:
        presence.note_visitor_seen(conversation)
    db.session.commit()
    return jsonify(stored=stored is not None), 201 if stored else 200


@bp.post("/api/survey-comment")
@limiter.limit(_limit("HELPDESK_CHAT_LIMIT_MESSAGES_PER_VISITOR"), key_func=_visitor_key)
def survey_comment() -> tuple[Response, int]:
    """The optional comment under a rating given with the widget's buttons."""
    ticket = _latest_ticket(_conversation())
    survey = service.survey_of(ticket) if ticket is not None else None
    if survey is None:
        return _error(404, "not-found", "There is no rating to comment on.")
    try:
        service.comment_on_survey(
            survey,
            clean_text(
                _body().get("comment"), service.COMMENT_LENGTH, "the comment", required=True
            ),
        )
    except (ChatInputError, TicketError) as refused:
        db.session.rollback()
        return _error(400, "invalid", str(refused))
    db.session.commit()
    return jsonify(stored=True), 201


@bp.post("/api/typing")
@limiter.limit(_limit("HELPDESK_CHAT_LIMIT_MESSAGES_PER_VISITOR"), key_func=_visitor_key)
def visitor_typing() -> tuple[Response, int]:
    conversation = _conversation()
    ticket = _latest_ticket(conversation)
    if ticket is not None:
        events.publish_typing(ticket=ticket, who="visitor", name=conversation.name or "Visitor")
        db.session.commit()
    return jsonify(ok=True), 202


@bp.get("/api/stream")
def stream() -> Response:
    conversation = _conversation()
    conversation_id = conversation.id
    if presence.note_visitor_seen(conversation):
        db.session.commit()

    def still_here() -> None:
        seen = db.session.get(ChatConversation, conversation_id)
        if seen is not None and presence.note_visitor_seen(seen):
            db.session.commit()

    return event_stream(events.Stream(conversation_id=conversation_id), resume_point(), still_here)


@bp.route("/api/<path:anything>", methods=["OPTIONS"])
def preflight(anything: str) -> Response:
    """Preflight for clients that send real JSON; the widget itself never needs one."""
    if not sites.origin_registered(request.headers.get("Origin")):
        abort(403)
    request.environ[ALLOWED_ORIGIN] = request.headers["Origin"]
    response = Response(status=204)
    response.headers["Access-Control-Allow-Methods"] = "GET, POST"
    response.headers["Access-Control-Allow-Headers"] = "Content-Type, Last-Event-ID"
    response.headers["Access-Control-Max-Age"] = "600"
    return response


@bp.after_request
def cors(response: Response) -> Response:
    """CORS headers for registered origins only; every other origin's page cannot read us."""
    origin = request.environ.get(ALLOWED_ORIGIN)
    if origin:
        response.headers["Access-Control-Allow-Origin"] = origin
    response.headers.add("Vary", "Origin")
    return response


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException) -> tuple[Response, int]:
    code = {
        400: "invalid",
        403: "forbidden",
        404: "not-found",
        413: "too-large",
        429: "rate-limited",
    }
    return _error(error.code or 500, code.get(error.code, "error"), error.description)


def _error(status: int, code: str, message: str) -> tuple[Response, int]:
    return jsonify(error={"code": code, "message": message}), status


def _body() -> dict[str, Any]:
    if request.method != "POST":
        return {}
    if (request.content_length or 0) > MAX_BODY:
        abort(413, "That message is too large.")
    data = request.get_json(force=True, silent=True)  # parsed once, cached by the request
    return data if isinstance(data, dict) else {}


def _site_for_origin(key: str) -> Endpoint:
    site = sites.site_by_key(key)
    if site is None:
        abort(404, "No chat site with that key.")
    _check_origin(site)
    return site


def _check_origin(site: Endpoint) -> None:
    _check_origin_listed(site.settings)


def _check_origin_listed(site_settings: dict) -> None:
    origin = request.headers.get("Origin")
    if not sites.origin_listed(site_settings, origin):
        abort(403, "This website is not registered for this chat.")
    request.environ[ALLOWED_ORIGIN] = origin


def _conversation() -> ChatConversation:
    token = _body().get("token") or request.args.get("token")
    conversation = visitors.conversation_for(token, current_app.config["SECRET_KEY"])
    if conversation is None:
        abort(403, "This chat session is not valid; start a new chat.")
    _check_origin(conversation.endpoint)
    return conversation


def _chat() -> chat_messages.Chat:
    """``_conversation`` for a message: the chat read with its latest ticket, without the ORM."""
    token = _body().get("token") or request.args.get("token")
    conversation_id = visitors.conversation_id_in(token, current_app.config["SECRET_KEY"])
    chat = chat_messages.find_chat(conversation_id) if conversation_id else None
    if chat is None:
        abort(403, "This chat session is not valid; start a new chat.")
    _check_origin_listed(chat.site_settings)
    return chat


def _latest_ticket(conversation: ChatConversation) -> Ticket | None:
    return db.session.scalar(
        select(Ticket)
        .where(Ticket.conversation_id == conversation.id)
        .order_by(Ticket.id.desc())
        .limit(1)
    )


def _chosen_stage(site: Endpoint, value: object) -> str | None:
    if not value:
        return None
    offered = {choice.stage.value for choice in sites.choices_of(site)}
    if not isinstance(value, str) or value not in offered:
        raise ChatInputError("please pick one of the offered topics")
    return Stage(value).value


def _host_user(site: Endpoint, user_id: object, user_hash: object) -> str | None:
    user = clean_text(user_id, 254, "user id")
    if user is None:
        return None
    if not isinstance(user_hash, str) or not host_user_verified(
        sites.secret_of(site), user, user_hash
    ):
        abort(403, "The signed-in user's signature does not match.")
    return user
