"""The customer page draws the customer's journey: a lane per stage, tickets by date."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from helpdesk.extensions import db
from helpdesk.models import Stage, Ticket
from helpdesk.tickets import service
from helpdesk.web.agent.journey import lay_out

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def test_tickets_sit_on_their_stage_lane_by_date_and_close_ones_stack():
    tickets = [
        Ticket(id=1, stage=Stage.DISCOVERY, created_at=START),
        Ticket(id=2, stage=Stage.PURCHASE, created_at=START + timedelta(days=50)),
        Ticket(id=3, stage=Stage.PURCHASE, created_at=START + timedelta(days=51)),
        Ticket(id=4, stage=Stage.USE, created_at=START + timedelta(days=100)),
    ]
    journey = lay_out(tickets)
    lanes = {lane.stage: lane for lane in journey.lanes}
    assert list(lanes) == list(Stage)
    assert [(m.ticket.id, m.x, m.row) for m in lanes[Stage.DISCOVERY].markers] == [(1, 0.0, 0)]
    assert [(m.ticket.id, m.x, m.row) for m in lanes[Stage.PURCHASE].markers] == [
        (2, 50.0, 0),
        (3, 51.0, 1),
    ]
    assert lanes[Stage.PURCHASE].rows == 2 and lanes[Stage.USE].markers[0].x == 100.0
    assert journey.ticks[0] == (0.0, START) and journey.ticks[-1][1] == tickets[-1].created_at


def test_a_single_ticket_sits_in_the_middle():
    journey = lay_out([Ticket(id=1, stage=Stage.USE, created_at=START)])
    [marker] = [m for lane in journey.lanes for m in lane.markers]
    assert marker.x == 50.0


def test_the_customer_page_shows_every_ticket_on_its_lane_with_its_channel(
    client, login, setup, inbound
):
    login()
    with setup():
        first = service.receive(inbound(sender="cy@customer.test", subject="Pricing?"))
        customer_id = first.ticket.customer_id
        later = service.receive(
            inbound("sms", sender="+15550002000", text="broken", received_at=START)
        )
        later.ticket.customer_id = customer_id
        service.set_stage(first.ticket, None, "discovery")
        ids = first.ticket_id, later.ticket_id
        db.session.flush()
    page = client.get(f"/customers/{customer_id}").text
    for stage in Stage:
        assert f"lane-{stage.value}" in page
    discovery = page[page.index("lane-discovery") : page.index("lane-attraction")]
    assert f'href="/tickets/{ids[0]}"' in discovery and ">Email</span>" in discovery
    unknown = page[page.index("lane-unknown") : page.index("journey-axis")]
    assert f'href="/tickets/{ids[1]}"' in unknown and ">SMS</span>" in unknown
