"""Saved views: a queue's filters and sort kept under a name, an agent's own or shared with one
of their teams, counted live and openable as an agent's landing page.

A view stores the queue's query string, so it means what the same link means: `team=mine` and
`assignee=me` stand for whoever opens it. The agent pages call these; like the ticket service
they flush and never commit.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qsl, urlencode

from sqlalchemy import or_, select, update

from helpdesk.extensions import db
from helpdesk.models import Role, SavedView, Team, TeamMember, User
from helpdesk.tickets import bins, queries

NAME_LENGTH = 80
# What a view keeps of the queue's query string: its filters and its sort, never a cursor.
QUERY_KEYS = (
    "status",
    "q",
    "stage",
    "channel",
    "priority",
    "assignee",
    "team",
    "tag",
    "has",
    "created_from",
    "created_to",
    "sort",
    # The spam list (a view of the trash shows it to admins alone: see view_filter).
    "in",
)


class ViewError(Exception):
    """A saved view the rules refuse; ``field`` names the part at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def visible_views(user: User) -> list[SavedView]:
    """The views a user's navigation lists: their own and those shared with their teams."""
    mine = select(TeamMember.team_id).where(TeamMember.user_id == user.id)
    return list(
        db.session.scalars(
            select(SavedView)
            .where(or_(SavedView.owner_id == user.id, SavedView.team_id.in_(mine)))
            .order_by(SavedView.name, SavedView.id)
        )
    )


def manageable_views(user: User) -> list[SavedView]:
    """What the views page lists: the visible ones and, for admins, every shared one."""
    if user.role != Role.ADMIN:
        return visible_views(user)
    everyone = select(SavedView).where(
        or_(SavedView.owner_id == user.id, SavedView.team_id.is_not(None))
    )
    return list(db.session.scalars(everyone.order_by(SavedView.name, SavedView.id)))


def visible_view(user: User, view_id: int) -> SavedView | None:
    """One view the user may open: their own or a shared one (a link to it shows any agent the
    queue they could filter themselves); None for another agent's personal view."""
    view = db.session.get(SavedView, view_id)
    if view is None or (view.owner_id != user.id and view.team_id is None):
        return None
    return view


def may_change(user: User, view: SavedView) -> bool:
    """Its owner renames or deletes a view; an admin too when it is shared."""
    return view.owner_id == user.id or (view.team_id is not None and user.role == Role.ADMIN)


def view_query(args: Mapping[str, str]) -> str:
    """The query string a view keeps of the queue's: filters and sort, blanks left out."""
    return urlencode([(key, args[key]) for key in QUERY_KEYS if args.get(key)])


def create_view(owner: User, name: str, args: Mapping[str, str], team: Team | None) -> SavedView:
    """Save the queue's filters under a name, personal or shared with one of the owner's teams
    (any team for an admin); ViewError names what is wrong."""
    query = _checked_query(args, owner)
    if team is not None and owner.role != Role.ADMIN and not team.has_member(owner.id):
        raise ViewError("team", f"you can share a view only with a team of yours, not {team.name}")
    view = SavedView(name=_name(name), owner=owner, team=team, query=query)
    db.session.add(view)
    db.session.flush()
    return view


def rename_view(view: SavedView, name: str) -> None:
    """Give a view another name; its filters stay."""
    view.name = _name(name)
    db.session.flush()


def change_view_query(view: SavedView, args: Mapping[str, str], user: User) -> None:
    """Give a view other filters and sort (as the queue's query string); its name stays."""
    view.query = _checked_query(args, user)
    db.session.flush()


def delete_view(view: SavedView) -> None:
    """Remove a view; whoever landed on it lands on the open work again."""
    db.session.execute(update(User).where(User.home_view_id == view.id).values(home_view_id=None))
    db.session.delete(view)
    db.session.flush()


def set_home(user: User, view: SavedView | None) -> None:
    """The view a user lands on from now on; None for the queue's open work."""
    user.home_view_id = view.id if view is not None else None
    db.session.flush()


def home_view(user: User) -> SavedView | None:
    """The view a user lands on, while it exists and is still theirs to see."""
    if user.home_view_id is None:
        return None
    return visible_view(user, user.home_view_id)


def args_of(view: SavedView) -> dict[str, str]:
    """The view's query string as the queue reads it."""
    return args_of_query(view.query)


def args_of_query(query: str) -> dict[str, str]:
    """A queue query string's filters and sort as the queue reads them."""
    return {key: value for key, value in parse_qsl(query) if key in QUERY_KEYS}


def view_filter(view: SavedView, user: User, timezone: str) -> queries.TicketFilter:
    """The tickets the view shows to ``user``; InvalidFilter when its stored filters no longer
    make sense (say, a stage that was renamed) or show what ``user`` may not see (the trash)."""
    filters = queries.TicketFilter.from_args(args_of(view), me=user.id, timezone=timezone)
    bins.check_allowed(filters.in_bin, user.role)
    return filters


def view_counts(views: list[SavedView], user: User, timezone: str) -> dict[int, str]:
    """Each view's ticket count as shown ("1,000+" past the cap), or why it cannot count."""
    totals = view_totals(views, user, timezone)
    return {view_id: "!" if count is None else str(count) for view_id, count in totals.items()}


def view_totals(
    views: list[SavedView], user: User, timezone: str
) -> dict[int, queries.StatusCount | None]:
    """Each view's tickets for ``user``, counted up to the cap in one round trip; None for a
    view whose stored filters no longer make sense."""
    totals: dict[int, queries.StatusCount | None] = {}
    countable: list[tuple[int, queries.TicketFilter]] = []
    for view in views:
        try:
            countable.append((view.id, view_filter(view, user, timezone)))
        except queries.InvalidFilter:
            totals[view.id] = None
    counts = queries.capped_counts([filters for _, filters in countable])
    totals.update({view_id: count for (view_id, _), count in zip(countable, counts, strict=True)})
    return totals


def _name(text: str) -> str:
    name = " ".join((text or "").split())
    if not name:
        raise ViewError("name", "a view needs a name")
    if len(name) > NAME_LENGTH:
        raise ViewError("name", f"a name has at most {NAME_LENGTH} characters")
    return name


def _checked_query(args: Mapping[str, str], user: User) -> str:
    """The query string to keep, once the queue has read its filters and sort as ``user``."""
    try:
        queries.TicketFilter.from_args(args, me=user.id)
        queries.parse_sort(args.get("sort"))
    except queries.InvalidFilter as invalid:
        raise ViewError("query", f"these filters cannot be saved: {invalid}") from None
    return view_query(args)
