"""Server CPU per chat request: what each path of the web chat costs one web process.

Usage: python bench/chat_requests.py [--requests 200] [--chats 50] [--history 8]
                                     [--database-url URL] [--no-redis] [--profile PATH]
                                     [--sort cumulative|tottime] [--lines 40]

Fills a fresh database (PostgreSQL by default) with one chat site, an agent and ``--chats``
conversations whose tickets already hold ``--history`` messages each (bench/chat.py's tickets
end with ten), then runs each chat path through the Flask test client, one conversation after
the other, and prints the median process CPU time per request: the widget's settings (every
page view of the host site), a visitor's message, typing and stream, the agent's reply, typing
and ticket stream, with the SQL statements each sends and the load average. Streams are timed
up to their first read (the replay a reconnecting browser gets); ``--profile PATH`` prints the
top of a cProfile (process CPU) of that path instead.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import statistics
import time
from collections.abc import Callable

from ingest import scratch_database

ORIGIN = "http://bench.example"
PASSWORD = "bench-password-123"


def prepare(database_url: str, redis_url: str | None):
    """The app on a fresh database with a chat site and an available agent."""
    os.environ["DATABASE_URL"] = database_url
    os.environ.pop("REDIS_URL", None)
    if redis_url:
        os.environ["REDIS_URL"] = redis_url
    from flask_migrate import upgrade

    from helpdesk import create_app
    from helpdesk.chat import sites
    from helpdesk.extensions import db
    from helpdesk.models import Role, User, utcnow

    unlimited = "1000000 per minute"
    app = create_app(
        {
            "HELPDESK_CHAT_LIMIT_MESSAGES_PER_VISITOR": unlimited,
            "HELPDESK_CHAT_LIMIT_MESSAGES_PER_IP": unlimited,
            "HELPDESK_CHAT_LIMIT_CONVERSATIONS_PER_IP": unlimited,
            # Streams end after their first read: the replay is what is timed.
            "HELPDESK_CHAT_STREAM_SECONDS": 0.0,
            # The bench times the views, not the form token.
            "WTF_CSRF_ENABLED": False,
        }
    )
    with app.app_context():
        upgrade()
        agent = User(email="agent@bench.example", name="Bench Agent", role=Role.AGENT)
        agent.available, agent.last_seen_at = True, utcnow()
        agent.set_password(PASSWORD)
        db.session.add(agent)
        key = sites.add_site("Bench shop", [ORIGIN]).address
        db.session.commit()
    return app, key


class Chats:
    """Conversations with ``history`` messages each; every timed request uses the next one,
    so each request meets a ticket of the same length."""

    def __init__(self, app, key: str, count: int, history: int) -> None:
        self.visitor, self.agent = app.test_client(), app.test_client()
        self.agent.post("/login", data={"email": "agent@bench.example", "password": PASSWORD})
        self.key = key
        self.headers = {"Origin": ORIGIN, "Content-Type": "text/plain"}
        self.chats: list[tuple[str, int]] = []
        for _ in range(count):
            body = json.dumps({"name": "Vera"})
            started = self.visitor.post(
                f"/chat/api/sites/{key}/conversations", data=body, headers=self.headers
            )
            token = started.json["token"]
            for n in range(history):
                if n % 2 == 0:
                    self.send(token, f"question {n}")
                else:
                    self.answer(self.ticket_of(app, token), f"answer {n}")
            self.chats.append((token, self.ticket_of(app, token)))
        self.turn = 0

    @staticmethod
    def ticket_of(app, token: str) -> int:
        from helpdesk.chat import visitors
        from helpdesk.extensions import db
        from helpdesk.models import Ticket

        with app.app_context():
            conversation = visitors.conversation_for(token, app.config["SECRET_KEY"])
            return db.session.scalar(
                db.select(Ticket.id).where(Ticket.conversation_id == conversation.id)
            )

    def next(self) -> tuple[str, int]:
        self.turn += 1
        return self.chats[self.turn % len(self.chats)]

    def send(self, token: str, text: str):
        body = json.dumps({"token": token, "client_id": os.urandom(8).hex(), "text": text})
        return self.visitor.post("/chat/api/messages", data=body, headers=self.headers)

    def answer(self, ticket_id: int, text: str):
        # As the chat page sends it: the reply shows up on the live stream, no reload.
        return self.agent.post(
            f"/tickets/{ticket_id}/messages",
            data={"text": text, "reply": "1"},
            headers={"Accept": "application/json"},
        )


def paths(chats: Chats) -> dict[str, Callable[[], None]]:
    """Each chat path as a call that makes one request and checks its answer."""

    def widget_settings():
        answer = chats.visitor.get(f"/chat/api/sites/{chats.key}", headers={"Origin": ORIGIN})
        assert answer.json["online"], answer.data

    def visitor_message():
        answer = chats.send(chats.next()[0], "hello")
        assert answer.status_code == 201, answer.data

    def visitor_typing():
        body = json.dumps({"token": chats.next()[0]})
        answer = chats.visitor.post("/chat/api/typing", data=body, headers=chats.headers)
        assert answer.status_code == 202, answer.data

    def visitor_stream():
        url = f"/chat/api/stream?token={chats.next()[0]}"
        answer = chats.visitor.get(url, headers={"Origin": ORIGIN})
        assert b"event: message" in answer.get_data(), answer.data

    def agent_reply():
        answer = chats.answer(chats.next()[1], "an answer")
        assert answer.status_code == 201, answer.data

    def agent_typing():
        assert chats.agent.post(f"/tickets/{chats.next()[1]}/typing").status_code == 204

    def agent_stream():
        answer = chats.agent.get(f"/tickets/{chats.next()[1]}/live")
        assert b"event: message" in answer.get_data(), answer.data

    return {
        "widget settings": widget_settings,
        "visitor message": visitor_message,
        "visitor typing": visitor_typing,
        "visitor stream": visitor_stream,
        "agent reply": agent_reply,
        "agent typing": agent_typing,
        "agent stream": agent_stream,
    }


def cpu_per_request(call: Callable[[], None], requests: int) -> float:
    """Median process CPU seconds of one call (the test client runs the view in-process)."""
    for _ in range(5):
        call()
    spent = []
    for _ in range(requests):
        began = time.process_time()
        call()
        spent.append(time.process_time() - began)
    return statistics.median(spent)


def statements_per_request(app, call: Callable[[], None]) -> int:
    """SQL statements one call sends (its transaction's BEGIN and COMMIT not counted)."""
    from sqlalchemy import event

    from helpdesk.extensions import db

    sent = []

    def count(*_args) -> None:
        sent.append(1)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(sent)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="per path")
    parser.add_argument("--chats", type=int, default=50, help="conversations the requests visit")
    parser.add_argument("--history", type=int, default=8, help="messages already on each ticket")
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--no-redis", action="store_true")
    parser.add_argument("--profile", metavar="PATH", help="cProfile one path, e.g. 'agent reply'")
    parser.add_argument("--sort", default="cumulative", help="the profile's order (tottime…)")
    parser.add_argument("--lines", type=int, default=40, help="how much of the profile to print")
    args = parser.parse_args()

    with scratch_database(args.database_url) as database_url:
        redis_url = None if args.no_redis else args.redis_url
        app, key = prepare(database_url, redis_url)
        calls = paths(Chats(app, key, args.chats, args.history))
        if args.profile:
            # Process CPU, not wall time: waits for the database are not this process's cost.
            profiler = cProfile.Profile(time.process_time)
            profiler.runcall(lambda: [calls[args.profile]() for _ in range(args.requests)])
            pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.lines)
        else:
            print(f"{args.history} messages of history, {'no ' if not redis_url else ''}Redis")
            for name, call in calls.items():
                cpu = cpu_per_request(call, args.requests) * 1000
                print(
                    f"{name:16} {cpu:6.2f} ms CPU, {statements_per_request(app, call):2} statements"
                )
            load = " / ".join(f"{value:.1f}" for value in os.getloadavg())
            print(f"load average {load}")
        with app.app_context():
            from helpdesk.extensions import db

            db.engine.dispose()


if __name__ == "__main__":
    main()
