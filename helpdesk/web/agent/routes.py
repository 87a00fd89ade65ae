"""Agent pages: thin views that parse a form, call the ticket service and commit once."""

from __future__ import annotations

from typing import Any

from flask import (
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy.orm import joinedload
from werkzeug.wrappers import Response

from helpdesk import accounts, saved_views, teams
from helpdesk.chat import events, presence
from helpdesk.extensions import db
from helpdesk.models import Macro, Message, Role, Ticket, TicketStatus, User
from helpdesk.tickets import (
    assignment,
    bins,
    bulk,
    chat_messages,
    queries,
    service,
    trash,
    versions,
)
from helpdesk.tickets.copies import InvalidCc
from helpdesk.tickets.errors import InvalidInput, TicketError
from helpdesk.web.access import staff_required
from helpdesk.web.agent import bp
from helpdesk.web.agent.forms import (
    ApplyMacroForm,
    BulkForm,
    ComposeForm,
    SaveViewForm,
    TicketPropertiesForm,
)
from helpdesk.web.downloads import attachment_response, stored_attachment
from helpdesk.web.live import event_stream, resume_point

QUEUE_PAGE_SIZE = 50
CUSTOMER_PAGE_SIZE = 50
# The queue a bare visit lands on: everything still waiting for the team.
OPEN_WORK = "new,open,pending"
# The status tabs above the queue: the ``status`` value each stands for.
STATUS_TABS = (OPEN_WORK, "new", "open", "pending", "solved", "closed", "")
SORT_LABELS = {
    queries.QueueSort.NEWEST: "Newest first",
    queries.QueueSort.WAITING: "Longest waiting",
    queries.QueueSort.PRIORITY: "Priority",
    queries.QueueSort.DUE: "Due soonest",
}


# Shown inline, not downloaded: images an agent wants to see at a glance.
@bp.get("/")
@staff_required
def home() -> Response:
    """The agent's landing view when they chose one, else the open work."""
    landing = saved_views.home_view(current_user)
    if landing is not None:
        return redirect(url_for("agent.open_view", view_id=landing.id))
    return redirect(url_for("agent.queue", status=OPEN_WORK))


@bp.get("/tickets")
@staff_required
def queue() -> tuple[str, int]:
    return render_queue()


def render_queue(save_form: SaveViewForm | None = None) -> tuple[str, int]:
    """The queue for this request's filters, with the saved views, the "Save this view" form
    (with the errors of a ``save_form`` post) and the bulk bar; 400 with nothing listed when
    a filter value cannot be understood."""
    # Read before the page's rows, so the live stream resumes at or before what they show.
    live_after = events.latest_id()
    error = None
    timezone = current_app.config["HELPDESK_TIMEZONE"]
    try:
        filters = queries.TicketFilter.from_args(
            request.args, me=current_user.id, timezone=timezone
        )
        bins.check_allowed(filters.in_bin, current_user.role)
        sort = queries.parse_sort(request.args.get("sort"))
        page = queries.ticket_page(filters, QUEUE_PAGE_SIZE, request.args.get("cursor"), sort)
    except queries.InvalidFilter as invalid:
        # Nothing rather than everything: a list that ignored the bad value would look like
        # its answer.
        error = str(invalid)
        filters, sort, page = (
            queries.TicketFilter(),
            queries.QueueSort.NEWEST,
            queries.Page([], None),
        )
    counts = None if error else queries.status_counts(filters)
    my_teams = current_user.teams
    if save_form is None:
        save_form = SaveViewForm(formdata=None)
    save_form.offer_teams(teams.all_teams() if current_user.role == Role.ADMIN else my_teams)
    agents = accounts.active_users()
    bulk_form = BulkForm(formdata=None, data={"query": saved_views.view_query(request.args)})
    bulk_form.offer(
        agents, teams.all_teams(), bulk_macros(), may_delete=current_user.role in trash.DELETERS
    )
    views = saved_views.visible_views(current_user)
    shown = render_template(
        "agent/queue.html",
        live_after=live_after,
        page=page,
        sort=sort,
        sort_labels=SORT_LABELS.items(),
        tab_counts=counts and _tab_counts(counts),
        matching=counts and _matching(counts, filters.statuses),
        bulk_limit=bulk.MAX_TICKETS,
        agents=agents,
        all_teams=teams.all_teams(),
        known_tags=service.known_tags(),
        error=error,
        views=views,
        view_counts=saved_views.view_counts(views, current_user, timezone),
        current_view=request.args.get("view", type=int),
        save_form=save_form,
        # The save posts this queue's filters in its URL, as the queue reads them.
        save_action=f"{url_for('agent.save_view')}?{bulk_form.query.data}",
        bulk_form=bulk_form,
        in_bin=filters.in_bin,
    )
    return shown, 400 if error else 200


def bulk_macros() -> list[Macro]:
    """The macros the bulk bar offers: those without a reply text (bulk sends no replies)."""
    return [macro for macro in service.visible_macros(current_user) if not macro.text.strip()]


def _matching(
    counts: dict[TicketStatus, queries.StatusCount], statuses: tuple[TicketStatus, ...]
) -> queries.StatusCount:
    """How many tickets the whole filter matches, as far as the status counts tell."""
    wanted = statuses or tuple(TicketStatus)
    total = sum(counts[status].value for status in wanted)
    capped = any(counts[status].capped for status in wanted) or total > queries.COUNT_CAP
    return queries.StatusCount(min(total, queries.COUNT_CAP), capped)


@bp.app_context_processor
def _team_work() -> dict[str, Any]:
    # Asked only where the navigation shows "My teams' open work"; a query, not the user's
    # relationship, so error pages (after a rollback) can ask too.
    return {"in_a_team": lambda: bool(teams.team_ids_of(current_user.id))}


def _tab_counts(counts: dict[TicketStatus, queries.StatusCount]) -> dict[str, str]:
    """What each status tab shows: the sum of its statuses' counts, "+" when any was capped."""
    shown = {}
    for tab in STATUS_TABS:
        statuses = [TicketStatus(part) for part in tab.split(",")] if tab else list(TicketStatus)
        total = sum(counts[status].value for status in statuses)
        capped = any(counts[status].capped for status in statuses)
        shown[tab] = f"{total:,}+" if capped else f"{total:,}"
    return shown


@bp.get("/tickets/live")
@staff_required
def queue_live() -> Response:
    """New chats as they arrive, so an open queue refreshes itself."""
    return event_stream(events.Stream(queue=True), resume_point(), _still_here())


@bp.get("/me/live")
@staff_required
def my_live() -> Response:
    """What the agent is told of: tickets given to them, new chats for their teams.

    Without a resume point it starts from now: a notification is for what happens next.
    """
    stream = events.Stream(
        agent_id=current_user.id, team_ids=tuple(teams.team_ids_of(current_user.id))
    )
    return event_stream(stream, resume_point(default=events.latest_id()), _still_here())


@bp.app_template_global()
def latest_event_id() -> int:
    """Where a live stream opened by the page being rendered resumes."""
    return events.latest_id()


@bp.get("/tickets/<int:ticket_id>/live")
@staff_required
def ticket_live(ticket_id: int) -> Response:
    """Messages, the customer's typing and the other agents on one ticket as they happen."""
    found = _ticket_or_404(ticket_id)
    return event_stream(events.Stream(ticket_id=found.id), resume_point(), _still_here())


@bp.post("/tickets/<int:ticket_id>/typing")
@staff_required
def agent_typing(ticket_id: int) -> tuple[str, int]:
    """The agent writes in the composer: other agents see it, and so does a chat's visitor."""
    found = _ticket_or_404(ticket_id)
    events.publish_presence(ticket=found, user=current_user, state=events.PresenceState.WRITING)
    if found.conversation_id:
        first_name = current_user.name.split()[0] if current_user.name else "Support"
        events.publish_typing(ticket=found, who="agent", name=first_name)
    db.session.commit()
    return "", 204


@bp.post("/tickets/<int:ticket_id>/presence")
@staff_required
def presence_beat(ticket_id: int) -> tuple[str, int]:
    """The agent's ticket page is open ("viewing", beaten while it stays open) or closed."""
    found = _ticket_or_404(ticket_id)
    state = request.form.get("state", events.PresenceState.VIEWING)
    if state not in (events.PresenceState.VIEWING, events.PresenceState.LEFT):
        abort(400)
    events.publish_presence(ticket=found, user=current_user, state=state)
    db.session.commit()
    return "", 204


def _still_here():
    """Keeps "last seen" fresh while an agent's page is open, so they count as online."""
    user_id = current_user.id

    def beat() -> None:
        user = db.session.get(User, user_id)
        if user is not None and presence.note_agent_seen(user):
            db.session.commit()

    return beat


@bp.get("/tickets/<int:ticket_id>")
@staff_required
def ticket(ticket_id: int) -> str:
    # Read before the thread, so the live stream resumes at or before what the page shows.
    live_after = events.latest_id()
    found = _thread_or_404(ticket_id)
    return _render_ticket(found, ComposeForm(), live_after=live_after)


@bp.post("/tickets/<int:ticket_id>/messages")
@staff_required
def write_message(ticket_id: int) -> str | Response | tuple[str | Response, int]:
    compose = ComposeForm()
    # A chat page sends replies itself and shows them from its live stream: no reload.
    from_live_page = request.accept_mimetypes.best == "application/json"
    if from_live_page and (quick := _quick_chat_reply(ticket_id, compose)) is not None:
        return quick
    # A reply reads the customer (erased?) and the endpoint (its route): one round trip.
    found = db.session.get(
        Ticket, ticket_id, options=[joinedload(Ticket.customer), joinedload(Ticket.endpoint)]
    )
    if found is not None and found.is_deleted:
        # Deleted while the page was open: say so, and hand back what was written.
        return render_template(
            "agent/ticket_in_trash.html", ticket=found, text=compose.text.data
        ), 409
    found = _ticket_or_404(ticket_id)
    if compose.validate_on_submit():
        newer = (
            []
            if compose.confirm.data == "1" or compose.seen is None
            else versions.newer_messages(found, compose.seen, current_user)
        )
        if newer and from_live_page:
            # The live page shows them already; the agent sends again once read.
            return jsonify(newer_messages=[m.id for m in newer], seen_message_id=newer[-1].id), 409
        if newer:
            return _render_ticket(_thread_or_404(ticket_id), compose, newer=newer), 409
        then = compose.status_after
        try:
            files = compose.attachments()
            if compose.note.data:
                if files:
                    raise InvalidInput("a note cannot carry files: send them with a reply")
                service.add_note(found, current_user, compose.text.data)
            else:
                cc, cc_shown = compose.copies()
                service.reply(
                    found,
                    current_user,
                    compose.text.data,
                    attachments=files,
                    cc=cc,
                    cc_shown=cc_shown,
                )
            if then is not None:
                service.set_status(found, current_user, then)
        except TicketError as refused:
            db.session.rollback()
            field = compose.cc if isinstance(refused, InvalidCc) else compose.text
            field.errors.append(str(refused))
        else:
            # Read before the commit, which would expire the ticket and cost a read of it again;
            # the version is the one this transaction's flush gave it.
            db.session.flush()
            properties, version = versions.current_properties(found), found.version
            db.session.commit()
            if from_live_page:
                # The sidebar follows what the reply did (a new ticket is open now).
                return jsonify(ok=True, properties=properties, version=version), 201
            flash(_written(compose.note.data, then), "success")
            # The URL's id, not found.id: after the commit that would reload the ticket.
            return redirect(url_for("agent.ticket", ticket_id=ticket_id, _anchor="composer"))
    if from_live_page:
        return jsonify(errors=compose.errors), 400
    return _render_ticket(_thread_or_404(ticket_id), compose), 400


def _quick_chat_reply(ticket_id: int, compose: ComposeForm) -> tuple[Response, int] | None:
    """A plain reply from a chat page (no files, no copies, no status after it) written in a
    few statements when it changes nothing but the conversation; None for the full path."""
    if compose.note.data or compose.status_after is not None or compose.has_files:
        return None
    if compose.cc.raw_data or not compose.validate_on_submit():
        return None
    seen = None if compose.confirm.data == "1" else compose.seen
    written = chat_messages.reply_in_chat(ticket_id, current_user, compose.text.data, seen=seen)
    if written is None:
        return None
    db.session.commit()
    return jsonify(ok=True, properties=written.properties, version=written.version), 201


def _written(note: bool, status: TicketStatus | None) -> str:
    if note:
        return "Note added."
    if status is None:
        return "Reply queued for sending."
    return f"Reply queued for sending; the ticket is {status.value}."


@bp.post("/tickets/<int:ticket_id>/properties")
@staff_required
def update_properties(ticket_id: int) -> str | Response | tuple[str, int]:
    posted = TicketPropertiesForm()
    # Checked and written under the ticket's lock: no other writer slips in between.
    found = _visible_or_404(versions.lock(ticket_id))
    posted.offer_assignees(accounts.active_users(), found.assignee)
    posted.offer_teams(teams.all_teams())
    if not posted.validate_on_submit():
        db.session.rollback()
        return _render_ticket(_thread_or_404(ticket_id), ComposeForm(), posted=posted), 400
    try:
        changed = versions.change_properties(
            found, current_user, posted.wanted(), posted.originals(), posted.version.data
        )
    except versions.PropertiesConflict as conflict:
        db.session.rollback()
        return _render_ticket(_thread_or_404(ticket_id), ComposeForm(), conflict=conflict), 409
    except TicketError as refused:
        db.session.rollback()
        posted.assignee.errors.append(str(refused))
        return _render_ticket(_thread_or_404(ticket_id), ComposeForm(), posted=posted), 400
    db.session.commit()
    flash("Ticket updated." if changed else "Nothing to change.", "success" if changed else "info")
    return redirect(url_for("agent.ticket", ticket_id=ticket_id))


@bp.post("/tickets/<int:ticket_id>/messages/<int:message_id>/retry")
@staff_required
def retry_message(ticket_id: int, message_id: int) -> Response:
    """Send a failed reply again (the worker takes it at its next round)."""
    message = _message_or_404(ticket_id, message_id)
    try:
        service.retry_delivery(message, current_user)
    except TicketError as refused:
        db.session.rollback()
        _flash_refusal("Not sent again", refused)
    else:
        db.session.commit()
        flash("The reply is queued to be sent again.", "success")
    return redirect(url_for("agent.ticket", ticket_id=ticket_id, _anchor=f"message-{message_id}"))


@bp.post("/tickets/<int:ticket_id>/tags")
@staff_required
def change_tags(ticket_id: int) -> Response:
    """Add the tag typed in the tag box, or take one off (its × button)."""
    # Under the ticket's lock: two agents adding the same tag at once both see it once.
    versions.lock(ticket_id)
    found = _ticket_or_404(ticket_id)
    removing = "remove" in request.form
    try:
        change = service.remove_tag if removing else service.add_tag
        name = change(found, current_user, request.form.get("name", ""))
    except TicketError as refused:
        db.session.rollback()
        _flash_refusal("Tag not changed", refused)
    else:
        db.session.commit()
        flash(f"Tag {name} {'removed' if removing else 'added'}.", "success")
    return redirect(url_for("agent.ticket", ticket_id=ticket_id))


@bp.post("/tickets/<int:ticket_id>/identities/<int:identity_id>/verification")
@staff_required
def send_verification_link(ticket_id: int, identity_id: int) -> Response:
    """Email a link that proves an address the customer only typed."""
    found = _ticket_or_404(ticket_id)
    try:
        link = service.send_verification_link(found, identity_id, current_user)
    except TicketError as refused:
        db.session.rollback()
        _flash_refusal("No link sent", refused)
    else:
        address = link.recipient
        db.session.commit()
        flash(f"Verification link queued for {address}.", "success")
    return redirect(url_for("agent.ticket", ticket_id=ticket_id))


def _flash_refusal(outcome: str, refused: TicketError) -> None:
    """ "Not sent again: that number opted out …": the ticket service's reason as a sentence."""
    flash(f"{outcome}: {refused}.", "error")


@bp.get("/customers")
@staff_required
def customers() -> str | tuple[str, int]:
    """Customers newest first, searched by name, email address or phone number."""
    try:
        page = queries.customer_page(
            request.args.get("q", ""), CUSTOMER_PAGE_SIZE, request.args.get("cursor") or None
        )
    except queries.InvalidFilter as invalid:
        return render_template(
            "agent/customers.html", page=queries.Page([], None), tickets={}, error=str(invalid)
        ), 400
    tickets = queries.customer_ticket_counts([found.id for found in page.items])
    return render_template("agent/customers.html", page=page, tickets=tickets, error=None)


@bp.get("/attachments/<int:attachment_id>")
@staff_required
def attachment(attachment_id: int) -> Response:
    found = stored_attachment(attachment_id, current_user.role)
    if found is None:
        abort(404)
    return attachment_response(found)


@bp.post("/me/availability")
@staff_required
def set_availability() -> Response:
    assignment.set_available(current_user, request.form.get("available") == "1")
    db.session.commit()
    state = "available" if current_user.available else "away"
    flash(f"You are {state}.", "info")
    return redirect(request.referrer if _same_site(request.referrer) else url_for("agent.home"))


def _same_site(url: str | None) -> bool:
    return bool(url) and url.startswith(request.host_url)


def _ticket_or_404(ticket_id: int) -> Ticket:
    """The ticket alone: what a reply, typing or a live stream needs, whatever its length."""
    return _visible_or_404(db.session.get(Ticket, ticket_id))


def _message_or_404(ticket_id: int, message_id: int) -> Message:
    """One message of a ticket the agent may see; 404 for a message of any other ticket."""
    found = _ticket_or_404(ticket_id)
    message = db.session.get(Message, message_id)
    if message is None or message.ticket_id != found.id:
        abort(404)
    return message


def _thread_or_404(ticket_id: int) -> Ticket:
    """The ticket with all its page shows, loaded up front."""
    return _visible_or_404(queries.ticket_with_thread(ticket_id))


def _visible_or_404(found: Ticket | None) -> Ticket:
    # A deleted ticket is gone for everyone but the admins, who may restore it.
    if found is None or (found.is_deleted and current_user.role != Role.ADMIN):
        abort(404)
    return found


def _render_ticket(
    ticket: Ticket,
    compose: ComposeForm,
    *,
    live_after: int = 0,
    posted: TicketPropertiesForm | None = None,
    conflict: versions.PropertiesConflict | None = None,
    newer: list[Message] | None = None,
    picker: ApplyMacroForm | None = None,
) -> str:
    """The ticket page; its live stream replays events after ``live_after`` (0: all of them).

    Both forms show the ticket as it is now, whatever was posted: the sidebar at the current
    values and version (with the errors of a ``posted`` save), the composer with the newest
    message shown (confirming when it shows ``newer`` messages that stopped a send), the macro
    picker with the macros the agent may apply (and the errors of a ``picker`` post).
    """
    current = versions.current_properties(ticket)
    properties = TicketPropertiesForm.showing(current, ticket.version)
    properties.offer_assignees(accounts.active_users(), ticket.assignee)
    properties.offer_teams(teams.all_teams())
    stale_form = posted is not None and posted.lacks_origin()
    if posted is not None:
        for name in versions.PROPERTIES:
            properties[name].errors = posted[name].errors
    compose.showing(versions.newest_message_id(ticket), ticket.cc, confirming=bool(newer))
    others = [t for t in queries.customer_tickets(ticket.customer_id) if t.id != ticket.id]
    if picker is None:
        picker = ApplyMacroForm(formdata=None)
        picker.offer(service.visible_macros(current_user))
    return render_template(
        "agent/ticket.html",
        live_after=live_after,
        ticket=ticket,
        compose=compose,
        properties=properties,
        current=current,
        reply_limit=service.REPLY_LIMITS[ticket.channel],
        reply_blocked=service.reply_block(ticket),
        known_tags=service.known_tags(),
        stale_form=stale_form,
        conflict=_conflict_rows(ticket, conflict, properties) if conflict else None,
        newer=newer or [],
        other_tickets=others,
        split_into=service.split_into(ticket),
        picker=picker,
        viewers=[v for v in events.ticket_viewers(ticket.id) if v.user_id != current_user.id],
        presence_expires=int(events.PRESENCE_EXPIRES.total_seconds()),
        may_delete=current_user.role in trash.DELETERS,
        days_left=trash.days_left,
        retention_days=trash.RETENTION_DAYS,
    )


def _conflict_rows(
    ticket: Ticket, conflict: versions.PropertiesConflict, properties: TicketPropertiesForm
) -> dict[str, Any]:
    """What the conflict box shows and the values its two buttons post."""
    current = versions.current_properties(ticket)
    conflicting = {c.field for c in conflict.conflicts}
    rows = []
    for item in conflict.conflicts:
        labels = {choice.value: choice.label for choice in properties[item.field].choices}
        rows.append(
            {
                "label": properties[item.field].label.text,
                "theirs": labels.get(item.theirs, item.theirs),
                "yours": labels.get(item.yours, item.yours),
                "event": versions.last_changed_by(ticket, item.field),
            }
        )
    return {
        "rows": rows,
        "current": current,
        # Apply mine: every change the agent made, against the values as they are now.
        "mine": {**current, **conflict.changes},
        # Keep theirs: the agent's other changes only.
        "theirs": {
            **current,
            **{k: v for k, v in conflict.changes.items() if k not in conflicting},
        },
        "other_changes": [
            properties[k].label.text for k in conflict.changes if k not in conflicting
        ],
    }
