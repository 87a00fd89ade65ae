"""The customer page and what agents change on it: name and notes, identities, merges.

Thin views: form → customer_records / customer_merges → commit → redirect; a refusal is shown
next to the field it concerns, with what was typed kept.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from helpdesk.extensions import db
from helpdesk.models import Customer
from helpdesk.tickets import customer_merges, customer_records, queries
from helpdesk.tickets.errors import TicketError
from helpdesk.web.access import staff_required
from helpdesk.web.agent import bp, journey
from helpdesk.web.agent.customer_forms import CustomerMergeForm, IdentityForm, ProfileForm

# How many customers a merge search offers to pick from.
CANDIDATES = 10


@bp.get("/customers/<int:customer_id>")
@staff_required
def customer(customer_id: int) -> str | Response:
    """The customer's journey, tickets, identities, name and notes; a merged customer's old
    link leads to the customer they were merged into."""
    found = _customer_or_404(customer_id)
    if found.merged_into_id is not None:
        live = customer_merges.live_customer(found)
        return redirect(url_for("agent.customer", customer_id=live.id))
    return render_customer(found)


def render_customer(
    found: Customer,
    *,
    profile: ProfileForm | None = None,
    identity: IdentityForm | None = None,
    merge: CustomerMergeForm | None = None,
    stale: customer_records.StaleCustomer | None = None,
    taken: customer_records.IdentityTaken | None = None,
) -> str:
    """The customer page; a posted form comes back with its errors and what was typed."""
    tickets = queries.customer_tickets(found.id)
    if profile is None:
        profile = ProfileForm.showing(found)
    return render_template(
        "agent/customer.html",
        customer=found,
        tickets=tickets,
        journey=journey.lay_out(tickets),
        profile=profile,
        identity_form=identity or IdentityForm(formdata=None),
        merge_form=merge or CustomerMergeForm(formdata=None),
        stale=stale,
        taken=taken,
    )


@bp.post("/customers/<int:customer_id>/profile")
@staff_required
def edit_customer(customer_id: int) -> str | Response | tuple[str, int]:
    """Save name and notes; from a stale page, show theirs and keep what the agent typed."""
    found = _editable(customer_id)
    form = ProfileForm()
    if not form.validate_on_submit():
        return render_customer(found, profile=form), 400
    try:
        changed = customer_records.edit_profile(found, form.change(), form.version.data)
    except customer_records.StaleCustomer as stale:
        db.session.rollback()
        current = _customer_or_404(customer_id)
        # Saving again now applies what the agent typed over what they have read.
        form.version.raw_data, form.version.data = None, current.version
        return render_customer(current, profile=form, stale=stale), 409
    except TicketError as refused:
        db.session.rollback()
        form.name.errors.append(_sentence(refused))
        return render_customer(_customer_or_404(customer_id), profile=form), 400
    db.session.commit()
    flash("Name and notes saved." if changed else "Nothing to change.", "success")
    return redirect(url_for("agent.customer", customer_id=customer_id))


@bp.post("/customers/<int:customer_id>/identities")
@staff_required
def add_identity(customer_id: int) -> str | Response | tuple[str, int]:
    """Add an email address or phone number; one another customer holds offers a merge."""
    found = _editable(customer_id)
    form = IdentityForm()
    if not form.validate_on_submit():
        return render_customer(found, identity=form), 400
    try:
        added = customer_records.add_identity(found, form.kind.data, form.value.data)
    except TicketError as refused:
        db.session.rollback()
        form.value.errors.append(_sentence(refused))
        taken = refused if isinstance(refused, customer_records.IdentityTaken) else None
        return render_customer(_customer_or_404(customer_id), identity=form, taken=taken), 400
    value = added.value
    db.session.commit()
    flash(f"{value} added, unverified until proven.", "success")
    return redirect(url_for("agent.customer", customer_id=customer_id, _anchor="identities"))


@bp.post("/customers/<int:customer_id>/identities/<int:identity_id>/link")
@staff_required
def send_identity_link(customer_id: int, identity_id: int) -> Response:
    """Mail a claimed address the link that proves it."""
    return _act_on_identity(
        customer_id,
        identity_id,
        lambda identity: customer_records.send_proof_link(identity, current_user),
        "Verification link queued for {value}.",
    )


@bp.post("/customers/<int:customer_id>/identities/<int:identity_id>/vouch")
@staff_required
def vouch_for_identity(customer_id: int, identity_id: int) -> Response:
    """Mark a phone number verified on the agent's word (recorded as theirs)."""
    return _act_on_identity(
        customer_id,
        identity_id,
        lambda identity: customer_records.vouch_for(identity, current_user),
        "{value} is verified, on your word.",
    )


@bp.post("/customers/<int:customer_id>/identities/<int:identity_id>/remove")
@staff_required
def remove_identity(customer_id: int, identity_id: int) -> Response:
    """Take an address or number off the customer."""
    return _act_on_identity(
        customer_id, identity_id, customer_records.remove_identity, "{value} removed."
    )


def _act_on_identity(customer_id: int, identity_id: int, act, done: str) -> Response:
    found = _editable(customer_id)
    identity = customer_records.identity_of(found, identity_id)
    back = redirect(url_for("agent.customer", customer_id=customer_id, _anchor="identities"))
    if identity is None:
        # A second agent's page, or a reload after the change: say so, change nothing.
        flash("That address or number is not on this customer any more.", "error")
        return back
    value = identity.value
    try:
        act(identity)
    except TicketError as refused:
        db.session.rollback()
        flash(f"Not changed: {refused}.", "error")
        return back
    db.session.commit()
    flash(done.format(value=value), "success")
    return back


@bp.post("/customers/<int:customer_id>/merge")
@staff_required
def merge_customer(customer_id: int) -> str | Response | tuple[str, int]:
    """Find the customer typed, show what a merge moves, and merge once the agent confirms."""
    source = _editable(customer_id)
    form = CustomerMergeForm()
    if not form.validate_on_submit():
        return render_customer(source, merge=form), 400
    candidates = _candidates(source, form.into.data)
    if not candidates:
        form.into.errors.append(f"No other customer matches “{form.into.data.strip()}”.")
        return render_customer(source, merge=form), 400
    if len(candidates) > 1:
        return render_template(
            "agent/customer_merge.html", source=source, form=form, candidates=candidates
        )
    target = candidates[0]
    try:
        plan = customer_merges.plan_merge(source, target)
    except TicketError as refused:
        form.into.errors.append(_sentence(refused))
        return render_customer(source, merge=form), 409
    if form.confirm.data != "1":
        form.into.data, form.confirm.data = str(target.id), "1"
        return render_template("agent/customer_merge.html", source=source, form=form, plan=plan)
    names = source.display_name, target.display_name
    target_id = target.id
    customer_merges.merge_customers(source, target, current_user)
    db.session.commit()
    flash(f"{names[0]} was merged into {names[1]}.", "success")
    return redirect(url_for("agent.customer", customer_id=target_id))


def _candidates(source: Customer, typed: str) -> list[Customer]:
    """The customers the agent may mean: the one with that id, or those the search finds."""
    typed = typed.strip().removeprefix("#")
    if typed.isdigit() and len(typed) <= 9:
        found = db.session.get(Customer, int(typed))
        return [found] if found is not None and found.id != source.id else []
    try:
        page = queries.customer_page(typed, CANDIDATES + 1)
    except queries.InvalidFilter:
        return []
    return [c for c in page.items if c.id != source.id][:CANDIDATES]


def _sentence(refused: TicketError) -> str:
    """The service's reason ("a customer cannot …") as a sentence beside the field."""
    text = str(refused)
    # Not when it starts with an address or number, which stays as written.
    if text.split(" ", 1)[0].isalpha():
        text = text[:1].upper() + text[1:]
    return f"{text}."


def _customer_or_404(customer_id: int) -> Customer:
    found = db.session.get(Customer, customer_id)
    if found is None:
        abort(404)
    return found


def _editable(customer_id: int) -> Customer:
    """The customer a form posted to; a merged one's forms lead to where they went, with a
    word, since what was typed there may not be what the agent wants on the other customer."""
    found = _customer_or_404(customer_id)
    if found.merged_into_id is not None:
        live = customer_merges.live_customer(found)
        flash(
            f"This customer was merged into {live.display_name}: nothing was changed. "
            "Check the customer below and do it again here if it still applies.",
            "error",
        )
        abort(redirect(url_for("agent.customer", customer_id=live.id)))
    return found
