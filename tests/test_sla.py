"""Stage-aware SLAs: deadlines in business hours, breaches recorded once, as events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from helpdesk.extensions import db
from helpdesk.models import Stage, Ticket, TicketEvent
from helpdesk.tickets import service, sla
from helpdesk.tickets.sla import BusinessHours, InvalidBusinessHours

BERLIN = ZoneInfo("Europe/Berlin")


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def test_around_the_clock_adds_plain_minutes():
    assert BusinessHours.parse("").add(utc(2, 23), 90) == utc(3, 0, 30)


def test_office_hours_skip_nights_and_weekends_in_local_time():
    hours = BusinessHours.parse("mon-fri 09:00-17:00", "Europe/Berlin")
    # Friday 2026-03-06 16:00 Berlin: one hour left that day, the rest on Monday morning.
    friday_four_pm = datetime(2026, 3, 6, 16, tzinfo=BERLIN)
    assert hours.add(friday_four_pm, 120) == datetime(2026, 3, 9, 10, tzinfo=BERLIN)
    # A request on Saturday starts counting at Monday's opening.
    saturday = datetime(2026, 3, 7, 11, tzinfo=BERLIN)
    assert hours.add(saturday, 30) == datetime(2026, 3, 9, 9, 30, tzinfo=BERLIN)


def test_office_hours_cross_a_daylight_saving_change():
    hours = BusinessHours.parse("mon-sun 00:00-23:59", "Europe/Berlin")
    # Clocks go forward at 02:00 on 2026-03-29: 23:59 of business time spans a 23-hour day.
    start = datetime(2026, 3, 29, 0, 0, tzinfo=BERLIN)
    assert hours.add(start, 60 * 5) == datetime(2026, 3, 29, 6, 0, tzinfo=BERLIN)


@pytest.mark.parametrize("spec", ["weekdays", "mon-fri 17:00-09:00", "xyz 09:00-10:00"])
def test_unreadable_business_hours_are_refused_with_the_format(spec):
    with pytest.raises(InvalidBusinessHours, match=r"mon-fri 09:00-17:00|close after"):
        BusinessHours.parse(spec)


def test_a_new_ticket_gets_the_deadlines_of_its_stage(ctx, inbound):
    sla.set_target("purchase", first_response=30, resolution=240)
    sla.set_target("use", first_response=240, resolution=None)
    rule_free = service.receive(inbound(received_at=utc(2, 10))).ticket
    assert rule_free.first_response_due_at is None and rule_free.sla_due_at is None
    service.set_stage(rule_free, None, "purchase", at=utc(2, 10, 5))
    assert rule_free.first_response_due_at == utc(2, 10, 30)
    assert rule_free.resolution_due_at == utc(2, 14)
    assert rule_free.sla_due_at == utc(2, 10, 30)


def breaches(ticket: Ticket) -> list[tuple[str, datetime]]:
    events = db.session.scalars(
        select(TicketEvent).where(
            TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "sla_breach"
        )
    )
    return [(event.to_value, event.created_at) for event in events]


def test_a_late_first_reply_records_one_breach_and_moves_the_deadline(ctx, inbound, make_user):
    sla.set_target("unknown", first_response=60, resolution=600)
    agent = make_user()
    ticket = service.receive(inbound(received_at=utc(2, 9))).ticket
    service.reply(ticket, agent, "Sorry for the wait", at=utc(2, 10, 30))
    assert ticket.first_response_seconds == 90 * 60
    assert breaches(ticket) == [("first_response", utc(2, 10, 30))]
    assert ticket.sla_due_at == utc(2, 19)
    service.reply(ticket, agent, "And another thing", at=utc(2, 11))
    assert len(breaches(ticket)) == 1


def test_the_worker_records_deadlines_that_pass_unmet_exactly_once(ctx, inbound):
    sla.set_target("unknown", first_response=60, resolution=120)
    ticket = service.receive(inbound(received_at=utc(2, 9))).ticket
    later = service.receive(inbound(received_at=utc(2, 9, 50), sender="b@x.test")).ticket
    db.session.commit()
    assert sla.record_breaches(now=utc(2, 10, 30)) == 1
    assert sla.record_breaches(now=utc(2, 10, 45)) == 0
    assert sla.record_breaches(now=utc(2, 12)) == 3
    db.session.expire_all()
    assert [kind for kind, _ in breaches(ticket)] == ["first_response", "resolution"]
    assert [kind for kind, _ in breaches(later)] == ["first_response", "resolution"]
    assert ticket.sla_due_at is None and sla.is_breached(ticket)


def test_solving_in_time_meets_the_target_and_a_reopen_counts(ctx, inbound, make_user):
    sla.set_target("unknown", first_response=None, resolution=120)
    ticket = service.receive(inbound(received_at=utc(2, 9))).ticket
    service.set_status(ticket, make_user(), "solved", at=utc(2, 10))
    assert ticket.resolution_seconds == 3600 and ticket.sla_due_at is None
    service.receive(inbound(received_at=utc(2, 10, 30), subject=f"Re: [#{ticket.number}]"))
    assert ticket.status == "open" and ticket.reopen_count == 1
    assert ticket.resolution_seconds is None
    assert ticket.sla_due_at == utc(2, 11)
    assert sla.record_breaches(now=utc(2, 11) + timedelta(seconds=1)) == 1


def test_the_queue_sorts_by_the_next_deadline_and_shows_overdue(
    ctx, client, inbound, make_user, app
):
    sla.set_target("unknown", first_response=60, resolution=None)
    early = service.receive(inbound(received_at=utc(2, 9))).ticket
    later = service.receive(inbound(received_at=utc(2, 10), sender="b@x.test")).ticket
    sla.set_target("purchase", first_response=None, resolution=None)
    none = service.receive(inbound(received_at=utc(2, 11), sender="c@x.test")).ticket
    service.set_stage(none, None, "purchase")
    make_user(email="ada@helpdesk.test")
    db.session.commit()
    numbers = [early.number, later.number, none.number]
    client.post("/login", data={"email": "ada@helpdesk.test", "password": "correct horse battery"})
    page = client.get("/tickets?sort=due").text
    positions = [page.index(f'<span class="num">#{n}</span>') for n in numbers]
    assert positions == sorted(positions)
    assert page.count('class="due overdue"') == 2


def test_admins_set_targets_in_the_browser_form_with_errors_by_the_field(client, app, make_user):
    with app.app_context():
        make_user(role="admin", email="root@helpdesk.test")
    client.post("/login", data={"email": "root@helpdesk.test", "password": "correct horse battery"})
    page = client.post("/admin/sla", data={"purchase_first_response": "soon"})
    assert 'id="purchase_first_response-error">' in page.text and "not a duration" in page.text
    client.post(
        "/admin/sla", data={"purchase_first_response": "1h 30m", "purchase_resolution": "2d"}
    )
    with app.app_context():
        target = sla.targets()[Stage.PURCHASE]
        assert (target.first_response_minutes, target.resolution_minutes) == (90, 2 * 24 * 60)
    assert 'value="1h 30m"' in client.get("/admin/sla").text


def test_the_cli_sets_and_lists_targets(runner, ctx):
    done = runner.invoke(args=["sla", "set", "use", "--first-response", "4h"])
    assert done.exit_code == 0, done.output
    listing = runner.invoke(args=["sla", "list"]).output
    assert "use          first response 4h" in listing
    bad = runner.invoke(args=["sla", "set", "use", "--resolution", "0m"])
    assert bad.exit_code != 0 and "longer than zero" in bad.output
