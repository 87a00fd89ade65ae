"""What the admins' shared-macro pages and every agent's own-macro pages have in common: the
form, with the agents an action may assign to, and saving it through the ticket service."""

from __future__ import annotations

from flask import request

from helpdesk import accounts
from helpdesk.extensions import db
from helpdesk.models import Macro, User
from helpdesk.tickets import service
from helpdesk.web.agent.forms import MacroForm


def macro_form(editing: Macro | None = None) -> MacroForm:
    """The form as posted, or showing ``editing`` when the page is first opened."""
    form = MacroForm.showing(editing) if editing and request.method != "POST" else MacroForm()
    form.offer_assignees(accounts.active_users())
    return form


def save_macro(form: MacroForm, owner: User | None, editing: Macro | None = None) -> Macro | None:
    """Create (for ``owner``; None: shared) or update the macro and commit; None when the form
    or the ticket service refused it (the reasons are on the form's fields)."""
    if not form.validate_on_submit():
        return None
    try:
        if editing is None:
            saved = service.create_macro(owner, form.fields())
        else:
            service.update_macro(editing, form.fields())
            saved = editing
    except service.InvalidMacro as refused:
        db.session.rollback()
        form.refuse(refused)
        return None
    db.session.commit()
    return saved


def delete_macro(found: Macro) -> str:
    """Delete the macro and commit; its name."""
    name = found.name
    service.delete_macro(found)
    db.session.commit()
    return name
