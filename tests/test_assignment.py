"""Automatic assignment: round robin and least open work within capacity, waiting tickets,
agents going away, reopened tickets, sessions, and the team admin pages."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select

from helpdesk import teams
from helpdesk.extensions import db
from helpdesk.models import (
    AuditEvent,
    Team,
    TeamMember,
    Ticket,
    TicketEvent,
    TicketStatus,
    User,
    utcnow,
)
from helpdesk.tickets import assignment, service
from helpdesk.transient import retried


@pytest.fixture
def make_team(app, make_user):
    """``make_team(agents, mode, capacity=…)``: a committed team of fresh agents, all present
    (available and seen just now) unless ``absent`` names some by index."""

    def build(agents: int = 3, mode: str = "round_robin", **settings) -> tuple[int, list[int]]:
        users = [make_user(available=True) for _ in range(agents)]
        team = teams.create_team(f"Team {users[0].id}", assignment=mode, **settings)
        teams.set_members(team, users)
        db.session.commit()
        return team.id, [user.id for user in users]

    return build


@pytest.fixture
def arrive(setup, inbound, app):
    """``arrive(team_id)``: a new ticket from a new customer, put in the team the way routing
    will (before the intake's offer); returns the ticket id."""
    count = iter(range(1, 10_000))

    def build(team_id: int | None, status: TicketStatus | None = None) -> int:
        n = next(count)
        with setup():
            message = service.take(inbound(sender=f"customer{n}@example.test")).message
            ticket = message.ticket
            if team_id is not None:
                service.set_team(ticket, None, db.session.get(Team, team_id))
                assignment.offer(ticket)
            if status is not None:
                service.set_status(ticket, None, status)
            return ticket.id

    return build


def assignee_of(ticket_id: int) -> int | None:
    db.session.expire_all()
    return db.session.get(Ticket, ticket_id).assignee_id


def loads(user_ids: list[int]) -> Counter:
    db.session.expire_all()
    held = db.session.scalars(
        select(Ticket.assignee_id).where(Ticket.status.in_(assignment.WORKING))
    ).all()
    return Counter({user_id: held.count(user_id) for user_id in user_ids})


def solve(ticket_id: int) -> None:
    service.set_status(db.session.get(Ticket, ticket_id), None, TicketStatus.SOLVED)
    db.session.commit()


def test_round_robin_deals_in_turn_to_who_waited_longest(ctx, make_team, arrive):
    team_id, agents = make_team(3)
    given = [assignee_of(arrive(team_id)) for _ in range(7)]
    assert given == agents * 2 + agents[:1]
    # The assignment is the system's, recorded on the ticket like any other.
    event = db.session.scalars(select(TicketEvent).where(TicketEvent.kind == "assignee")).first()
    assert event.actor_id is None and event.to_value.endswith("@helpdesk.test")


def test_round_robin_stays_fair_when_someone_joins_late(ctx, make_team, make_user, arrive):
    team_id, agents = make_team(2)
    for _ in range(4):
        arrive(team_id)
    late = make_user(available=True)
    team = db.session.get(Team, team_id)
    teams.set_members(team, [*team.members, late])
    db.session.commit()
    # Never given one: the newcomer is first, then the turn goes on.
    assert [assignee_of(arrive(team_id)) for _ in range(3)] == [late.id, *agents]


def test_least_open_gives_to_who_holds_least(ctx, make_team, arrive):
    team_id, (ada, bob) = make_team(2, mode="least_open")
    tickets = [arrive(team_id) for _ in range(3)]
    assert [assignee_of(t) for t in tickets] == [ada, bob, ada]
    solve(tickets[0])
    solve(tickets[2])
    # Ada holds none, Bob one: Ada first (round robin would say Bob); then, both holding one,
    # whoever was given one longest ago.
    assert [assignee_of(arrive(team_id)) for _ in range(3)] == [ada, bob, ada]


def test_capacity_counts_new_and_open_but_not_pending(ctx, make_team, arrive):
    team_id, (ada,) = make_team(1, capacity=2)
    first, second = arrive(team_id), arrive(team_id)
    third = arrive(team_id)
    assert (assignee_of(first), assignee_of(second), assignee_of(third)) == (ada, ada, None)
    # Waiting on the customer frees the slot: the job hands the waiting ticket out.
    service.set_status(db.session.get(Ticket, first), None, TicketStatus.PENDING)
    db.session.commit()
    assert assignment.assign_waiting() == 1
    assert assignee_of(third) == ada
    assert loads([ada])[ada] == 2


def test_away_and_stale_agents_are_passed_by(ctx, make_team, arrive):
    team_id, (away, stale, present) = make_team(3)
    db.session.get(User, away).available = False
    db.session.get(User, stale).last_seen_at = utcnow() - timedelta(minutes=3)
    db.session.commit()
    assert {assignee_of(arrive(team_id)) for _ in range(3)} == {present}


def test_a_team_that_assigns_by_hand_leaves_tickets_waiting(ctx, make_team, arrive):
    team_id, _ = make_team(2, mode="off")
    ticket = arrive(team_id)
    assert assignee_of(ticket) is None
    assert assignment.assign_waiting() == 0


def test_waiting_tickets_go_oldest_first_when_someone_frees_up(ctx, make_team, arrive):
    team_id, (ada,) = make_team(1, capacity=1)
    held = arrive(team_id)
    older, newer = arrive(team_id), arrive(team_id)
    assert assignee_of(older) is None and assignee_of(newer) is None
    solve(held)
    assert assignment.run_due() == 1
    assert (assignee_of(older), assignee_of(newer)) == (ada, None)


def test_nobody_present_then_an_agent_comes_back(ctx, make_team, arrive):
    team_id, (ada,) = make_team(1)
    db.session.get(User, ada).available = False
    db.session.commit()
    ticket = arrive(team_id)
    assert assignee_of(ticket) is None
    assignment.set_available(db.session.get(User, ada), True)
    db.session.commit()
    assignment.run_due()
    assert assignee_of(ticket) == ada


def test_moving_a_ticket_into_a_team_offers_it_there(ctx, make_team, make_user, arrive):
    team_id, (ada,) = make_team(1)
    ticket = db.session.get(Ticket, arrive(None))
    service.set_team(ticket, make_user(), db.session.get(Team, team_id))
    assignment.offer(ticket)
    db.session.commit()
    assert assignee_of(ticket.id) == ada


def test_going_away_keeps_tickets_unless_the_team_returns_them(ctx, make_team, arrive):
    keeping, (ada, bob) = make_team(2)
    returning, (cid, dan) = make_team(2, return_unanswered_when_away=True)
    kept = [arrive(keeping) for _ in range(2)]
    back = [arrive(returning) for _ in range(2)]
    answered = arrive(returning)
    ticket = db.session.get(Ticket, answered)
    ticket.first_response_at = utcnow()  # an agent replied: it stays with whoever has it
    holder = ticket.assignee_id
    db.session.commit()
    for agent in (ada, cid if holder != cid else dan):
        returned = assignment.set_available(db.session.get(User, agent), False)
        db.session.commit()
    assert {assignee_of(t) for t in kept} == {ada, bob}
    # The returning team's unanswered tickets went to the member still present.
    present = dan if holder != cid else cid
    assert [assignee_of(t) for t in back] == [present, present]
    assert assignee_of(answered) == holder
    assert returned or holder != cid


def test_an_agent_not_seen_for_two_minutes_returns_tickets_once(ctx, make_team, arrive):
    team_id, (ada, bob) = make_team(2, return_unanswered_when_away=True)
    tickets = [arrive(team_id) for _ in range(2)]
    db.session.get(User, ada).last_seen_at = utcnow() - timedelta(minutes=3)
    db.session.commit()
    assignment.run_due()
    assert [assignee_of(t) for t in tickets] == [bob, bob]
    # Handed back to Ada by a person while she is still gone: the job leaves it alone.
    service.assign(db.session.get(Ticket, tickets[0]), db.session.get(User, bob), None)
    service.assign(
        db.session.get(Ticket, tickets[0]), db.session.get(User, bob), db.session.get(User, ada)
    )
    db.session.commit()
    assignment.run_due()
    assert assignee_of(tickets[0]) == ada


def test_a_reopened_ticket_goes_back_to_its_assignee_when_assignable(
    ctx, make_team, setup, inbound
):
    team_id, (ada, bob) = make_team(2)
    with setup():
        ticket = service.take(inbound(sender="eve@example.test")).message.ticket
        service.set_team(ticket, None, db.session.get(Team, team_id))
        assignment.offer(ticket)
        service.set_status(ticket, None, TicketStatus.SOLVED)
        ticket_id, holder, number = ticket.id, ticket.assignee_id, ticket.number
    follow_up = {"sender": "eve@example.test", "subject": f"Re: [#{number}] Help"}
    with setup():
        service.take(inbound(**follow_up, text="Still broken"))
    assert assignee_of(ticket_id) == holder
    other = bob if holder == ada else ada
    with setup():
        service.set_status(db.session.get(Ticket, ticket_id), None, TicketStatus.SOLVED)
        db.session.get(User, holder).available = False
    with setup():
        service.take(inbound(**follow_up, text="Broken again"))
    assert assignee_of(ticket_id) == other
    assert db.session.get(Ticket, ticket_id).status == TicketStatus.OPEN


def test_login_makes_an_agent_available_unless_they_chose_away(client, setup, make_user):
    with setup():
        user = make_user()
        email, user_id = user.email, user.id
    credentials = {"email": email, "password": "correct horse battery"}
    client.post("/login", data=credentials)
    with setup():
        assert db.session.get(User, user_id).available
    client.post("/me/availability", data={"available": "0"})
    client.post("/logout")
    client.post("/login", data=credentials)
    with setup():
        user = db.session.get(User, user_id)
        assert (user.available, user.stays_away) == (False, True)
    client.post("/me/availability", data={"available": "1"})
    client.post("/logout")
    with setup():
        assert not db.session.get(User, user_id).available
    client.post("/login", data=credentials)
    with setup():
        assert db.session.get(User, user_id).available


def test_team_changes_are_audited(ctx, make_user):
    ada = make_user()
    team = teams.create_team("Billing", assignment="round_robin")
    teams.set_members(team, [ada])
    db.session.commit()
    membership = db.session.get(TeamMember, (team.id, ada.id))
    membership.last_assigned_at = utcnow()  # the system's bookkeeping: not an admin change
    db.session.commit()
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.target_type != "user").order_by(AuditEvent.id)
    ).all()
    assert actions == ["team.created", "team_member.created"]
    row = db.session.scalars(select(AuditEvent).where(AuditEvent.target_type == "team_member"))
    assert row.one().target_id == f"{team.id}/{ada.id}"


def test_admins_create_and_edit_teams(client, login, setup, make_user):
    admin_id = login("admin")
    with setup():
        ada, bob = make_user(name="Ada"), make_user(name="Bob")
        ada_id, bob_id = ada.id, bob.id
    response = client.post(
        "/admin/teams/new",
        data={
            "name": "Billing",
            "assignment": "round_robin",
            "capacity": "5",
            "return_unanswered_when_away": "y",
            "members": [str(ada_id), str(bob_id)],
        },
    )
    assert response.status_code == 302
    page = client.get("/admin/teams").text
    assert "Billing" in page and "Ada, Bob" in page and "Round robin" in page
    with setup():
        team = db.session.scalars(select(Team)).one()
        team_id = team.id
        assert (team.capacity, team.return_unanswered_when_away) == (5, True)
    response = client.post(
        f"/admin/teams/{team_id}",
        data={"name": "Billing", "assignment": "least_open", "capacity": "3", "members": [ada_id]},
    )
    assert response.status_code == 302
    with setup():
        team = db.session.get(Team, team_id)
        assert [m.id for m in team.members] == [ada_id]
        assert (team.assignment.value, team.capacity) == ("least_open", 3)
        trail = db.session.scalars(
            select(AuditEvent).where(AuditEvent.target_type.in_(("team", "team_member")))
        ).all()
        assert {row.actor_id for row in trail} == {admin_id}
        assert Counter(row.action for row in trail) == {
            "team.created": 1,
            "team_member.created": 2,
            "team.changed": 1,
            "team_member.deleted": 1,
        }
    edit = client.get(f"/admin/teams/{team_id}").text
    assert edit.count("checked") == 1


def test_team_form_errors_stand_next_to_their_fields(client, login, setup):
    login("admin")
    with setup():
        teams.create_team("Sales")
    response = client.post(
        "/admin/teams/new", data={"name": "sales", "assignment": "off", "capacity": "0"}
    )
    assert response.status_code == 400
    assert "there is already a team called Sales" in response.text
    response = client.post(
        "/admin/teams/new", data={"name": "Support", "assignment": "off", "capacity": "0"}
    )
    assert response.status_code == 400
    assert 'id="capacity-error">capacity must be between 1 and 1000' in response.text


def test_agents_cannot_manage_teams(client, login):
    login("agent")
    assert client.get("/admin/teams").status_code == 403


def test_teams_from_the_command_line(runner, setup, make_user):
    with setup():
        ada, bob = make_user(), make_user()
        emails = [ada.email, bob.email]
    result = runner.invoke(
        args=["teams", "create", "Night shift", "--assignment", "least_open", "--capacity", "4"]
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["teams", "add-member", "night shift", *emails])
    assert result.exit_code == 0, result.output
    with setup():
        team = teams.team_by_name("Night shift")
        assert (team.assignment.value, team.capacity) == ("least_open", 4)
        assert sorted(user.email for user in team.members) == sorted(emails)
    result = runner.invoke(args=["teams", "add-member", "Day shift", emails[0]])
    assert result.exit_code != 0 and "no team called Day shift" in result.output


@pytest.mark.postgresql
def test_concurrent_assigners_never_overfill_an_agent_nor_assign_a_ticket_twice(
    app, make_user, inbound
):
    """Two intake threads put new tickets in two teams that share agents while two worker
    threads hand out the waiting ones, each on its own connection; then every assigned ticket
    is solved and it all runs again."""
    capacity, per_thread = 3, 60
    with app.app_context():
        agents = [make_user(available=True) for _ in range(6)]
        # Agents 2 and 3 are in both teams: their locks are shared between the teams' rounds.
        first = teams.create_team("First", assignment="round_robin", capacity=capacity)
        second = teams.create_team("Second", assignment="least_open", capacity=capacity)
        teams.set_members(first, agents[:4])
        teams.set_members(second, agents[2:])
        service.take(inbound())  # the mailbox's endpoint exists before the threads race for it
        db.session.commit()
        team_ids, agent_ids = [first.id, second.id], [agent.id for agent in agents]
    failures: list[BaseException] = []

    def guarded(work):
        def run(*args):
            try:
                with app.app_context():
                    work(*args)
            except BaseException as error:
                failures.append(error)

        return run

    def intake(thread: int, round_: int) -> None:
        for n in range(per_thread):
            sender = f"r{round_}t{thread}n{n}@example.test"

            def arrive(sender: str = sender, n: int = n) -> None:
                ticket = service.take(inbound(sender=sender)).message.ticket
                service.set_team(ticket, None, db.session.get(Team, team_ids[n % 2]))
                assignment.offer(ticket)
                db.session.commit()

            retried(arrive, "a new ticket")

    def worker(stop: threading.Event) -> None:
        while not stop.is_set():
            assignment.assign_waiting()

    def run_round(round_: int) -> None:
        stop = threading.Event()
        workers = [threading.Thread(target=guarded(worker), args=(stop,)) for _ in range(2)]
        intakes = [threading.Thread(target=guarded(intake), args=(t, round_)) for t in range(2)]
        for thread in workers + intakes:
            thread.start()
        for thread in intakes:
            thread.join()
        stop.set()
        for thread in workers:
            thread.join()
        assert not failures, failures

    def check() -> None:
        with app.app_context():
            held = loads(agent_ids)
            assert max(held.values()) <= capacity
            # 240 tickets for 6 agents x 3: everyone is full, the rest waits.
            assert sorted(held.values()) == [capacity] * len(agent_ids)
            system_assignments = Counter(
                db.session.scalars(
                    select(TicketEvent.ticket_id).where(
                        TicketEvent.kind == "assignee",
                        TicketEvent.actor_id.is_(None),
                        TicketEvent.to_value.is_not(None),
                    )
                )
            )
            assert max(system_assignments.values()) == 1

    run_round(1)
    check()
    with app.app_context():
        for ticket in db.session.scalars(select(Ticket).where(Ticket.assignee_id.is_not(None))):
            service.set_status(ticket, None, TicketStatus.SOLVED)
        db.session.commit()
    run_round(2)
    check()
