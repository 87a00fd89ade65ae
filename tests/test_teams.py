"""Teams: a team on every ticket, set by hand or by the system, filtered everywhere."""

import pytest

from helpdesk import teams
from helpdesk.extensions import db
from helpdesk.models import Role, Team, Ticket, TicketEvent, User
from helpdesk.reports import stage_load
from helpdesk.tickets import service


@pytest.fixture
def crew(setup, make_user):
    """Two teams: Billing (Ada) and Shipping (Ben); Cy is in neither."""
    with setup():
        ada, ben, cy = (make_user(name=name) for name in ("Ada", "Ben", "Cy"))
        billing, shipping = teams.create_team("Billing"), teams.create_team("Shipping")
        teams.set_members(billing, [ada])
        teams.set_members(shipping, [ben])
        return {
            "ada": ada.id,
            "ben": ben.id,
            "cy": cy.id,
            "billing": billing.id,
            "shipping": shipping.id,
        }


def _ticket(ticket_id: int) -> Ticket:
    return db.session.get(Ticket, ticket_id)


def test_a_team_change_clears_an_assignee_outside_the_new_team(ctx, crew, open_ticket):
    ticket_id = open_ticket()
    ticket, ada = _ticket(ticket_id), db.session.get(User, crew["ada"])
    service.assign(ticket, ada, ada)
    service.set_team(ticket, ada, db.session.get(Team, crew["billing"]))
    assert ticket.assignee_id == crew["ada"]  # Ada is in Billing
    service.set_team(ticket, ada, db.session.get(Team, crew["shipping"]))
    assert ticket.assignee_id is None and ticket.team.name == "Shipping"
    kinds = [
        (e.kind, e.from_value, e.to_value)
        for e in db.session.query(TicketEvent)
        .filter_by(ticket_id=ticket_id)
        .order_by(TicketEvent.id)
    ]
    assert ("team", None, "Billing") in kinds
    assert ("team", "Billing", "Shipping") in kinds
    assert kinds[-1][0] == "assignee"


def test_only_a_persons_change_marks_team_and_priority_as_set_by_hand(ctx, crew, open_ticket):
    ticket = _ticket(open_ticket())
    billing = db.session.get(Team, crew["billing"])
    service.set_team(ticket, None, billing)
    service.set_priority(ticket, None, "high")
    assert not ticket.team_set_by_hand and not ticket.priority_set_by_hand
    person = db.session.get(User, crew["cy"])
    service.set_priority(ticket, person, "low")
    assert ticket.priority_set_by_hand and not ticket.team_set_by_hand
    service.set_team(ticket, person, None)
    assert ticket.team_set_by_hand


def test_team_names_are_unique_and_checked(ctx, crew):
    with pytest.raises(teams.TeamError, match="already a team called Billing"):
        teams.create_team(" billing ")
    with pytest.raises(teams.TeamError, match="capacity"):
        teams.create_team("Returns", capacity=0)
    with pytest.raises(teams.TeamError, match="assignment must be one of"):
        teams.create_team("Returns", assignment="lottery")


@pytest.fixture
def api(client, setup, make_token, crew):
    with setup():
        user = db.session.get(User, crew["ada"])
        return {"Authorization": f"Bearer {make_token(user)}"}


def test_the_api_sets_shows_and_filters_by_team(client, api, crew, open_ticket):
    billed, shipped, loose = open_ticket(), open_ticket(), open_ticket()
    for ticket_id, team in ((billed, "billing"), (shipped, "shipping")):
        response = client.patch(
            f"/api/v1/tickets/{ticket_id}", json={"team": crew[team]}, headers=api
        )
        assert response.status_code == 200, response.get_json()
    assert response.get_json()["team"] == {"id": crew["shipping"], "name": "Shipping"}

    def listed(query: str) -> set[int]:
        body = client.get(f"/api/v1/tickets?{query}", headers=api).get_json()
        return {item["id"] for item in body["items"]}

    assert listed(f"team={crew['billing']}") == {billed}
    assert listed("team=mine") == {billed}  # the token's user, Ada, is in Billing
    assert listed("team=none") == {loose}
    bad = client.get("/api/v1/tickets?team=sales", headers=api)
    assert bad.status_code == 400
    unknown = client.patch(f"/api/v1/tickets/{loose}", json={"team": 999}, headers=api)
    assert (
        unknown.status_code == 422
        and "no team with id 999" in unknown.get_json()["error"]["message"]
    )


def test_the_api_lists_teams_with_their_members(client, api, crew):
    body = client.get("/api/v1/teams", headers=api).get_json()
    assert [(t["name"], [m["name"] for m in t["members"]]) for t in body["items"]] == [
        ("Billing", ["Ada"]),
        ("Shipping", ["Ben"]),
    ]
    assert body["items"][0]["assignment"] == "off"


UNCHANGED = {"assignee": "", "status": "new", "priority": "normal", "stage": "unknown"}


def test_the_ticket_page_moves_a_ticket_to_a_team(client, login, crew, open_ticket, setup):
    login()
    ticket_id = open_ticket()
    page = client.get(f"/tickets/{ticket_id}").text
    assert ">No team</option>" in page and ">Billing</option>" in page
    with setup():
        version = _ticket(ticket_id).version
    done = client.post(
        f"/tickets/{ticket_id}/properties",
        data={
            "version": version,
            "team": crew["billing"],
            "original_team": "",
            **UNCHANGED,
            **{f"original_{name}": value for name, value in UNCHANGED.items()},
        },
    )
    assert done.status_code == 302
    with setup():
        assert _ticket(ticket_id).team.name == "Billing"


def test_the_stage_dashboard_narrows_to_a_team_and_drills_down_with_it(
    client, login, crew, open_ticket, setup
):
    login(Role.MANAGER)
    billed = open_ticket()
    open_ticket()
    with setup():
        service.set_team(_ticket(billed), None, db.session.get(Team, crew["billing"]))
    page = client.get(f"/reports/stages?team={crew['billing']}")
    assert page.status_code == 200
    assert f"team={crew['billing']}" in page.text  # the drill-down links keep the team
    with setup():
        chosen = stage_load.ReportRange.from_args(
            {"team": str(crew["billing"])}, "UTC", _ticket(billed).created_at.date()
        )
        load = stage_load.stage_load(chosen)
        assert sum(row["arrivals"] for row in load.rows()) == 1


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("team=999", "team: there is no team with id 999"),
        ("team=99999999999", "team must be mine, none or a team id"),
        ("team=sales", "team must be mine, none or a team id"),
    ],
)
def test_a_team_filter_naming_no_team_is_said_not_silently_empty(client, login, query, message):
    login()
    page = client.get(f"/tickets?{query}")
    assert page.status_code == 400 and message in page.text


def test_the_dashboard_refuses_a_team_id_no_database_holds(client, login):
    login(Role.MANAGER)
    page = client.get("/reports/stages?team=99999999999")
    assert page.status_code == 400 and "team a team id" in page.text
