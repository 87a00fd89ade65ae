"""Saved views: a queue's filters kept by name, counted live, and one of them an agent's home."""

from __future__ import annotations

from sqlalchemy import select

from helpdesk import saved_views, teams
from helpdesk.extensions import db
from helpdesk.models import SavedView, Team, Ticket, User
from helpdesk.tickets import queries, service

OPEN_WORK = "/tickets?status=new,open,pending"


def _user(user_id: int) -> User:
    return db.session.get(User, user_id)


def test_saving_the_queue_keeps_its_filters_and_sort_and_opens_it(client, login, setup):
    me = login()
    response = client.post(
        "/views?status=new,open&tag=vip&sort=waiting&cursor=abc&view=3",
        data={"view-name": "  VIP   waiting ", "view-team": ""},
    )
    assert response.status_code == 302
    with setup():
        view = db.session.scalars(select(SavedView)).one()
        assert (view.name, view.owner_id, view.team_id) == ("VIP waiting", me, None)
        assert view.query == "status=new%2Copen&tag=vip&sort=waiting"
        view_id = view.id
    assert response.headers["Location"] == f"/views/{view_id}"
    opened = client.get(f"/views/{view_id}")
    assert opened.headers["Location"] == (
        f"/tickets?status=new,open&tag=vip&sort=waiting&view={view_id}"
    )
    queue = client.get(opened.headers["Location"])
    assert f'href="/views/{view_id}" class="view-link" aria-current="page"' in queue.text


def test_a_view_needs_a_name_and_understood_filters_said_next_to_the_field(client, login):
    login()
    nameless = client.post("/views?status=open", data={"view-name": " "})
    assert nameless.status_code == 400
    assert "a view needs a name" in nameless.text
    bad = client.post("/views?stage=moon", data={"view-name": "Moon"})
    assert bad.status_code == 400
    assert "these filters cannot be saved: stage must be one or more of" in bad.text


def test_a_shared_view_is_listed_for_its_team_only(client, login, setup, make_user):
    with setup():
        owner = make_user(name="Owner")
        teammate = make_user(name="Mate")
        stranger = make_user(name="Stranger")
        support = teams.create_team("Support")
        teams.set_members(support, [owner, teammate])
        shared = saved_views.create_view(owner, "Team work", {"team": "mine"}, support)
        personal = saved_views.create_view(owner, "Mine", {"assignee": "me"}, None)
        db.session.flush()
        assert [v.name for v in saved_views.visible_views(teammate)] == ["Team work"]
        assert saved_views.visible_views(stranger) == []
        assert saved_views.visible_view(stranger, personal.id) is None
        # Only a member may share with a team.
        try:
            saved_views.create_view(stranger, "Theirs", {}, support)
        except saved_views.ViewError as refused:
            assert refused.field == "team"
        else:
            raise AssertionError("a stranger shared a view with a team not theirs")
        assert shared.team == support


def test_counts_stop_at_the_cap_and_a_broken_view_never_shows_everything(
    ctx, open_ticket, make_user, monkeypatch
):
    ada = make_user()
    for n in range(3):
        open_ticket(sender=f"c{n}@customer.test")
    every = saved_views.create_view(ada, "Everything", {}, None)
    none = saved_views.create_view(ada, "Solved", {"status": "solved"}, None)
    broken = saved_views.create_view(ada, "Broken", {}, None)
    broken.query = "stage=moon"
    monkeypatch.setattr(queries, "COUNT_CAP", 2)
    counts = saved_views.view_counts([every, none, broken], ada, "UTC")
    assert counts == {every.id: "2+", none.id: "0", broken.id: "!"}


def test_a_broken_view_opens_as_a_clear_message(client, login, setup):
    me = login()
    with setup():
        view = saved_views.create_view(_user(me), "Old", {"status": "open"}, None)
        view.query, view_id = "status=archived", view.id
    response = client.get(f"/views/{view_id}")
    assert response.status_code == 400
    assert "The view “Old” cannot be shown: status must be one or more of" in response.text
    assert "queue" not in response.headers.get("Location", "")


def test_the_counts_refresh_from_their_own_url(client, login, setup, open_ticket):
    me = login()
    open_ticket()
    with setup():
        view_id = saved_views.create_view(_user(me), "New", {"status": "new"}, None).id
    assert client.get("/views/counts").json == {str(view_id): "1"}
    queue = client.get("/tickets")
    assert f'data-view-count="{view_id}">1</span>' in queue.text


def test_an_agent_lands_on_their_view_until_it_goes(client, login, setup):
    me = login()
    with setup():
        view_id = saved_views.create_view(_user(me), "Urgent", {"priority": "urgent"}, None).id
    assert client.get("/").headers["Location"] == OPEN_WORK
    client.post(f"/views/{view_id}/home")
    assert client.get("/").headers["Location"] == f"/views/{view_id}"
    client.post(f"/views/{view_id}/home", data={"home": "0"})
    assert client.get("/").headers["Location"] == OPEN_WORK
    client.post(f"/views/{view_id}/home")
    client.post(f"/views/{view_id}/delete")
    with setup():
        assert _user(me).home_view_id is None
    assert client.get("/").headers["Location"] == OPEN_WORK


def test_only_the_owner_or_an_admin_renames_or_deletes(client, login, setup, make_user):
    with setup():
        owner = make_user()
        support = teams.create_team("Support")
        teams.set_members(support, [owner])
        view_id = saved_views.create_view(owner, "Shared", {}, support).id
        owner_id, support_id = owner.id, support.id
    me = login()
    with setup():
        teams.set_members(db.session.get(Team, support_id), [_user(owner_id), _user(me)])
    refused = client.post(f"/views/{view_id}/rename", data={"name": "Mine now"})
    assert refused.status_code == 302
    assert "A view is changed by its owner" in client.get("/views").text
    client.post(f"/views/{view_id}/delete")
    with setup():
        assert db.session.get(SavedView, view_id).name == "Shared"

    client.post("/logout")
    login("admin")
    client.post(f"/views/{view_id}/rename", data={"name": "Support queue"})
    with setup():
        assert db.session.get(SavedView, view_id).name == "Support queue"
    client.post(f"/views/{view_id}/delete")
    with setup():
        assert db.session.get(SavedView, view_id) is None


def test_the_queue_filters_and_shows_teams(client, login, setup, open_ticket):
    me = login()
    ours, loose = open_ticket(subject="Ours"), open_ticket(subject="Loose")
    with setup():
        support = teams.create_team("Support")
        teams.set_members(support, [_user(me)])
        service.set_team(db.session.get(Ticket, ours), None, support)
        support_name = support.name
    page = client.get("/tickets?team=mine").text
    assert "Ours" in page and "Loose" not in page
    assert f'<td data-label="Team">{support_name}</td>' in page
    assert "My teams&#39; open work" in page or "My teams' open work" in page
    assert "Loose" in client.get("/tickets?team=none").text
    assert loose
