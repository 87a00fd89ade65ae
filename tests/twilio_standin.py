"""A local stand-in for Twilio's REST API, for the real ``twilio`` library to talk to.

It answers ``POST /2010-04-01/Accounts/{sid}/Messages.json`` like Twilio (a message resource,
or Twilio's error JSON), serves MMS media under ``…/Messages/{MM}/Media/{ME}`` through a
redirect to a "CDN" path as Twilio does, checks HTTP basic auth, and records every request.
Answers can be scripted per test: ``standin.script("429", "500", "ok")``; "stall" answers
only after ``stall_seconds`` (beyond a client's timeout) and takes nothing, "take and stall"
creates the message and then stalls the same way (the client cannot know it went out).
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

MESSAGES = re.compile(r"^/2010-04-01/Accounts/(AC\w+)/Messages\.json$")
MEDIA = re.compile(r"^/2010-04-01/Accounts/(AC\w+)/Messages/(MM\w+)/Media/(ME\w+)$")
CDN = re.compile(r"^/cdn/(ME\w+)$")

ERRORS = {
    "429": (429, 20429, "Too Many Requests"),
    "500": (500, 20500, "Internal Server Error"),
    "503": (503, 20503, "Service Unavailable"),
    "21610": (400, 21610, "Attempt to send to unsubscribed recipient"),
    "21211": (400, 21211, "Invalid 'To' Phone Number"),
}


@dataclass
class Recorded:
    method: str
    path: str
    form: dict[str, str]
    auth: tuple[str, str] | None


@dataclass
class TwilioStandin:
    account_sid: str
    auth_token: str
    requests: list[Recorded] = field(default_factory=list)
    media: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    created: list[dict] = field(default_factory=list)
    _answers: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""
    stall_seconds: float = 1.0

    def script(self, *answers: str) -> None:
        """The next answers to message creation and media requests: "ok" or an ERRORS key."""
        with self._lock:
            self._answers.extend(answers)

    def add_media(self, content_type: str, data: bytes) -> str:
        """Host a file and return the URL Twilio would put in MediaUrlN."""
        media_sid = f"ME{uuid.uuid4().hex}"
        self.media[media_sid] = (content_type, data)
        message_sid = f"MM{uuid.uuid4().hex}"
        # The public Twilio URL: the adapter rewrites the host to this stand-in.
        return (
            f"https://api.twilio.com/2010-04-01/Accounts/{self.account_sid}"
            f"/Messages/{message_sid}/Media/{media_sid}"
        )

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.created.clear()
            self._answers.clear()
            self.media.clear()

    def sent(self) -> list[dict[str, str]]:
        """The forms of every message creation request, in order."""
        return [r.form for r in self.requests if MESSAGES.match(r.path)]

    def next_answer(self) -> str:
        with self._lock:
            return self._answers.pop(0) if self._answers else "ok"


def _handler(standin: TwilioStandin) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # keep test output clean
            pass

        def _auth(self) -> tuple[str, str] | None:
            header = self.headers.get("Authorization", "")
            if not header.startswith("Basic "):
                return None
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            return user, password

        def _record(self, form: dict[str, str]) -> Recorded:
            entry = Recorded(self.command, urlsplit(self.path).path, form, self._auth())
            with standin._lock:
                standin.requests.append(entry)
            return entry

        def _send(self, status: int, body: bytes, content_type: str, **headers: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            try:
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # a client that stopped waiting for a stalled answer

        def _json(self, status: int, payload: dict) -> None:
            self._send(status, json.dumps(payload).encode(), "application/json")

        def _error(self, key: str) -> None:
            status, code, message = ERRORS[key]
            self._json(
                status,
                {
                    "code": code,
                    "message": message,
                    "more_info": f"https://www.twilio.com/docs/errors/{code}",
                    "status": status,
                },
            )

        def _authorised(self, entry: Recorded) -> bool:
            if entry.auth == (standin.account_sid, standin.auth_token):
                return True
            self._json(401, {"code": 20003, "message": "Authenticate", "status": 401})
            return False

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = parse_qs(self.rfile.read(length).decode(), keep_blank_values=True)
            form = {key: values[-1] for key, values in raw.items()}
            entry = self._record(form)
            if not MESSAGES.match(entry.path):
                return self._json(404, {"code": 20404, "message": "Not Found", "status": 404})
            if not self._authorised(entry):
                return None
            answer = standin.next_answer()
            if answer == "stall":
                time.sleep(standin.stall_seconds)
                return self._error("503")
            if answer not in ("ok", "take and stall"):
                return self._error(answer)
            resource = {
                "sid": f"SM{uuid.uuid4().hex}",
                "account_sid": standin.account_sid,
                "to": form.get("To"),
                "from": form.get("From"),
                "messaging_service_sid": form.get("MessagingServiceSid"),
                "body": form.get("Body"),
                "status": "accepted" if form.get("MessagingServiceSid") else "queued",
                "num_segments": "1",
                "error_code": None,
                "error_message": None,
            }
            standin.created.append(resource)
            if answer == "take and stall":
                time.sleep(standin.stall_seconds)
            return self._json(201, resource)

        def do_GET(self) -> None:
            entry = self._record({})
            if match := MEDIA.match(entry.path):
                if not self._authorised(entry):
                    return None
                answer = standin.next_answer()
                if answer != "ok":
                    return self._error(answer)
                if match.group(3) not in standin.media:
                    return self._json(404, {"code": 20404, "message": "Not Found"})
                # Twilio answers media URLs with a redirect to its CDN.
                return self._send(307, b"", "text/plain", Location=f"/cdn/{match.group(3)}")
            if (match := CDN.match(entry.path)) and match.group(1) in standin.media:
                content_type, data = standin.media[match.group(1)]
                return self._send(200, data, content_type)
            return self._json(404, {"code": 20404, "message": "Not Found", "status": 404})

    return Handler


def start(account_sid: str, auth_token: str) -> tuple[TwilioStandin, ThreadingHTTPServer]:
    """Serve a stand-in on 127.0.0.1 and a free port, in a daemon thread."""
    standin = TwilioStandin(account_sid, auth_token)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(standin))
    standin.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return standin, server
