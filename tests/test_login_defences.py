"""Logins defended: failed logins wait, passwords must be hard to guess, sessions end when the
password changes, and every page tells the browser what it may load."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pyotp
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from helpdesk import create_app, logins, two_factor
from helpdesk.extensions import db
from helpdesk.models import AuditEvent, LoginThrottle, Role, User, utcnow
from helpdesk.passwords import password_problem

PASSWORD = "correct horse battery"
ADA = "ada@helpdesk.test"
TEMPLATES = Path(__file__).resolve().parent.parent / "helpdesk" / "templates"


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch):
    """The throttle's "now", moved on by hand: ``clock.advance(seconds=30)``."""

    class Clock:
        now = utcnow()

        def advance(self, **delta: float) -> None:
            self.now += timedelta(**delta)

    fixed = Clock()
    monkeypatch.setattr(logins, "utcnow", lambda: fixed.now)
    return fixed


def attempt(client, password: str, email: str = ADA, address: str = "10.0.0.1"):
    return client.post(
        "/login",
        data={"email": email, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def audit_rows(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_fifteen_wrong_passwords_make_even_the_right_one_wait(client, setup, make_user, clock):
    with setup():
        make_user(email=ADA)
    for _ in range(4):
        page = attempt(client, "wrong guess")
        assert page.status_code == 200 and "Too many" not in page.text
    fifth = attempt(client, "wrong guess")
    assert "Too many failed logins for this account: try again in 1 second." in fifth.text

    refused = attempt(client, PASSWORD)
    assert refused.status_code == 429
    assert "Too many failed logins for this account: try again in 1 second." in refused.text

    expected_waits = ["2 seconds", "4 seconds", "8 seconds", "16 seconds", "32 seconds"]
    expected_waits += ["2 minutes", "3 minutes", "5 minutes", "9 minutes", "15 minutes"]
    for wait in expected_waits:
        clock.advance(minutes=15)
        assert f"try again in {wait}." in attempt(client, "wrong guess").text
    # The finding: after 15 wrong passwords the right one no longer works at once.
    assert attempt(client, PASSWORD).status_code == 429
    clock.advance(minutes=14)
    assert "try again in 1 minute." in attempt(client, PASSWORD).text

    clock.advance(minutes=1, seconds=1)
    assert attempt(client, PASSWORD).status_code == 302
    # Success starts the account's count again: the next mistake is answered plainly.
    client.post("/logout")
    assert "Too many" not in attempt(client, "wrong guess").text


def test_waits_and_failures_past_the_free_ones_are_audited_without_the_password(
    client, setup, make_user, clock, ctx
):
    with setup():
        make_user(email=ADA)
    for _ in range(6):
        attempt(client, "hunter2 but longer")
    failed, throttled = audit_rows("login.failed"), audit_rows("login.throttled")
    assert [row.after["failures"] for row in failed] == [5]
    assert failed[0].after | {} == {
        "address": "10.0.0.1",
        "counted": "account",
        "failures": 5,
        "wait_seconds": 1,
    }
    assert (failed[0].target_type, failed[0].target_id) == ("login", ADA)
    assert len(throttled) == 1 and throttled[0].after["address"] == "10.0.0.1"
    everything = json.dumps([[row.before, row.after] for row in [*failed, *throttled]])
    assert "hunter2" not in everything


def test_an_unknown_address_waits_exactly_like_a_real_account(client, setup, make_user, clock):
    with setup():
        make_user(email=ADA)
    answers = {}
    for email in (ADA, "nobody@helpdesk.test"):
        pages = [attempt(client, "wrong guess", email, address=email) for _ in range(6)]
        answers[email] = [(page.status_code, _error(page.text)) for page in pages]
    assert answers[ADA] == answers["nobody@helpdesk.test"]


def test_an_unknown_address_costs_a_password_check_like_a_real_one(
    client, setup, make_user, monkeypatch
):
    """Answering faster for an address without an account would tell strangers which exist."""
    with setup():
        make_user(email=ADA)
        make_user(email="gone@helpdesk.test", active=False)
    checked: list[str] = []
    real_check = logins.check_password_hash
    monkeypatch.setattr(
        logins, "check_password_hash", lambda h, p: checked.append(p) or real_check(h, p)
    )
    for email in (ADA, "nobody@helpdesk.test", "gone@helpdesk.test"):
        attempt(client, "wrong guess", email, address="10.1.1.1")
    assert checked == ["wrong guess"] * 3


def test_one_address_trying_many_accounts_is_made_to_wait(client, setup, make_user, clock):
    with setup():
        make_user(email=ADA)
    for n in range(logins.ADDRESS_FREE_FAILURES):
        attempt(client, "wrong guess", f"guess{n}@helpdesk.test", address="10.9.9.9")
    page = attempt(client, PASSWORD, address="10.9.9.9")
    assert page.status_code == 429
    assert "Too many failed logins from your address: try again in 1 second." in page.text
    # Ada, from her own address, is not held up by someone else's guessing.
    assert attempt(client, PASSWORD, address="10.0.0.2").status_code == 302


def test_counts_are_forgotten_after_an_hour_without_failures(client, setup, make_user, clock):
    with setup():
        make_user(email=ADA)
    for _ in range(4):
        attempt(client, "wrong guess")
    clock.advance(hours=1, seconds=1)
    for _ in range(4):
        assert "Too many" not in attempt(client, "wrong guess").text


def test_forgotten_counters_are_pruned_and_recent_ones_kept(client, setup, clock):
    for _ in range(logins.ACCOUNT_FREE_FAILURES + 1):
        attempt(client, "wrong guess", "mallory@helpdesk.test", address="10.6.6.6")
    attempt(client, "wrong guess", "once@helpdesk.test", address="10.7.7.7")
    with setup():
        keys = set(db.session.scalars(select(LoginThrottle.key)))
        assert len(keys) == 4  # two accounts, two addresses
        clock.advance(hours=1, seconds=1)
        assert logins.prune_forgotten() == 4
        assert db.session.scalars(select(LoginThrottle)).all() == []

    for _ in range(logins.ACCOUNT_FREE_FAILURES + 1):
        attempt(client, "wrong guess", "mallory@helpdesk.test", address="10.6.6.6")
    with setup():
        clock.advance(minutes=59)
        assert logins.prune_forgotten() == 0  # counted still: the next failure waits longer
    assert "Too many" in attempt(client, "wrong guess", "mallory@helpdesk.test").text


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short one", "must be at least 12 characters"),
        ("password2024!", "guessed first"),
        ("P@ssw0rd1234", "guessed first"),
        ("qwertyuiop12", "guessed first"),
        ("123456789012", "guessed first"),
        ("aaaaaaaaaaaaaaaa", "guessed first"),
        ("abcabcabcabc", "guessed first"),
        ("iloveyou forever", "guessed first"),
        ("adalovelace1!", "name or email"),
        ("Ada Lovelace 2024", "name or email"),
        ("ada@helpdesk.test", "name or email"),
    ],
)
def test_weak_passwords_are_refused_with_the_reason(password, problem):
    found = password_problem(password, email=ADA, name="Ada Lovelace")
    assert found is not None and problem in found


@pytest.mark.parametrize(
    "password", [PASSWORD, "demo-password", "ada plays the cello", "tram ticket 47 blue"]
)
def test_phrases_of_unrelated_words_pass(password):
    assert password_problem(password, email=ADA, name="Ada Lovelace") is None


def test_the_admin_sees_the_rule_next_to_the_password_and_keeps_what_was_typed(client, login):
    login(Role.ADMIN)
    page = client.post(
        "/admin/users/new",
        data={
            "name": "Bo Brown",
            "email": "bo@helpdesk.test",
            "role": "agent",
            "password": "bobrown12345",
            "confirm": "bobrown12345",
        },
    )
    assert page.status_code == 200
    assert 'id="password-error">must not be made of the user&#39;s own name' in page.text
    assert 'value="Bo Brown"' in page.text and 'value="bo@helpdesk.test"' in page.text


def test_an_admin_reset_refuses_a_common_password_beside_the_field(client, login, setup):
    login(Role.ADMIN)
    agent = login_free_user(setup)
    page = client.post(
        f"/admin/users/{agent}/password",
        data={"pw-password": "Password12345", "pw-confirm": "Password12345"},
    )
    assert page.status_code == 400
    assert 'id="pw-password-error">is one of the passwords guessed first' in page.text


def login_free_user(setup) -> int:
    with setup():
        user = User(email="cy@helpdesk.test", name="Cy", role=Role.AGENT)
        user.set_password(PASSWORD)
        db.session.add(user)
        db.session.flush()
        return user.id


def test_the_cli_sets_a_password_by_the_rules(runner, setup, make_user, ctx):
    with setup():
        make_user(email=ADA, name="Ada Lovelace")
    weak = runner.invoke(args=["users", "password", ADA, "--password", "password1234"])
    assert weak.exit_code != 0 and "the password is one of the passwords guessed first" in (
        weak.output
    )
    done = runner.invoke(args=["users", "password", ADA], input="tram ticket 47\ntram ticket 47\n")
    assert done.exit_code == 0, done.output
    db.session.expire_all()
    assert accounts_user(ADA).check_password("tram ticket 47")


def accounts_user(email: str) -> User:
    return db.session.scalar(select(User).where(User.email == email))


def test_logging_in_starts_a_new_session(client, setup, make_user):
    with setup():
        make_user(email=ADA)
    with client.session_transaction() as before:
        before["planted"] = "by someone else"
    assert attempt(client, PASSWORD).status_code == 302
    with client.session_transaction() as after:
        assert "planted" not in after and after["_user_id"].endswith(":1")


def test_a_password_change_ends_every_session_and_remember_me_cookie(app, setup, make_user):
    with setup():
        make_user(email=ADA)
    laptop, phone, remembered = app.test_client(), app.test_client(), app.test_client()
    for browser in (laptop, phone):
        assert attempt(browser, PASSWORD).status_code == 302
    remembered.post("/login", data={"email": ADA, "password": PASSWORD, "remember": "y"})
    remembered.delete_cookie("session")  # the browser closed: only the remember-me cookie is left
    assert remembered.get("/tickets").status_code == 200

    new_password = "a fresh tram ticket"
    assert laptop.post("/logout").status_code == 302
    with setup():
        from helpdesk import accounts

        accounts.reset_password(accounts.user_by_email(ADA), new_password)
    for browser in (phone, remembered):
        assert browser.get("/tickets").headers["Location"].startswith("/login")
    assert attempt(laptop, new_password).status_code == 302
    assert laptop.get("/tickets").status_code == 200


def test_deactivating_a_user_ends_their_sessions_for_good(client, login, app, setup):
    login(Role.ADMIN)
    agent = app.test_client()
    with setup():
        user = User(email=ADA, name="Ada", role=Role.AGENT)
        user.set_password(PASSWORD)
        db.session.add(user)
        db.session.flush()
        ada = user.id
    attempt(agent, PASSWORD)
    client.post(f"/admin/users/{ada}", data={"name": "Ada", "role": "agent", "submit": "1"})
    client.post(
        f"/admin/users/{ada}", data={"name": "Ada", "role": "agent", "active": "y", "submit": "1"}
    )
    # Active again, but the session from before the deactivation stays over.
    assert agent.get("/tickets").headers["Location"].startswith("/login")


def test_login_cookies_are_http_only_same_site_and_secure_on_https(client, setup, make_user):
    with setup():
        make_user(email=ADA)
    done = client.post("/login", data={"email": ADA, "password": PASSWORD, "remember": "y"})
    cookies = done.headers.getlist("Set-Cookie")
    for name in ("session", "remember_token"):
        cookie = next(c for c in cookies if c.startswith(f"{name}="))
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
        assert "Secure" not in cookie  # the tests run on http
    https = create_app({"HELPDESK_PUBLIC_URL": "https://help.example.test"})
    assert https.config["SESSION_COOKIE_SECURE"] and https.config["REMEMBER_COOKIE_SECURE"]


def test_every_page_carries_the_security_headers(client, login):
    pages = [client.get("/login")]
    login(Role.ADMIN)
    pages += [client.get(path) for path in ("/tickets", "/admin/users", "/reports/stages")]
    for page in pages:
        assert page.status_code == 200, page.request.path
        path = page.request.path
        policy = page.headers["Content-Security-Policy"]
        for directive in (
            "default-src 'self'",
            "script-src 'self';",
            "frame-ancestors 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "object-src 'none'",
        ):
            assert directive in policy, (path, directive)
        assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
        assert page.headers["Referrer-Policy"] == "same-origin"
        assert page.headers["X-Content-Type-Options"] == "nosniff"


def test_the_chat_widget_stays_embeddable(client):
    widget = client.get("/chat/widget.js")
    assert widget.status_code == 200
    assert "Content-Security-Policy" not in widget.headers
    assert "X-Frame-Options" not in widget.headers


def test_no_template_has_an_inline_script_or_event_handler():
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), template
        assert not re.search(r"\son[a-z]+\s*=", text), template


def _error(page: str) -> str:
    return re.search(r'id="password-error">([^<]*)<', page).group(1)


def turn_on_two_factor(client) -> tuple[pyotp.TOTP, list[str]]:
    """Through the Security page, as the logged-in user: the app's TOTP and the recovery codes."""
    started = client.post("/account/security/two-factor/start")
    secret = re.search(r'id="two-factor-secret">([A-Z2-7]+)<', started.text).group(1)
    totp = pyotp.TOTP(secret)
    assert f"otpauth://totp/Helpdesk:{ADA.replace('@', '%40')}" in started.text
    wrong = client.post("/account/security/two-factor", data={"code": "000000"})
    assert wrong.status_code == 400 and "That code does not match" in wrong.text
    done = client.post("/account/security/two-factor", data={"code": totp.at(two_factor.utcnow())})
    codes = re.findall(r"<li><code>([0-9a-f]{6}-[0-9a-f]{6})</code></li>", done.text)
    return totp, codes


def test_two_factor_asks_for_a_code_after_the_password(client, login, setup, clock, monkeypatch):
    monkeypatch.setattr(two_factor, "utcnow", lambda: clock.now)
    login(Role.AGENT, email=ADA)
    totp, codes = turn_on_two_factor(client)
    assert len(codes) == 10 == len(set(codes))
    with setup():
        stored = accounts_user(ADA).totp_secret_encrypted
    assert stored and totp.secret not in stored  # encrypted with the app's key
    client.post("/logout")

    page = attempt(client, PASSWORD)
    assert page.headers["Location"] == "/login/code"
    assert client.get("/tickets").headers["Location"].startswith("/login")  # not in yet
    # The code that turned two-factor on was seen once already: it does not open a session.
    used = client.post("/login/code", data={"code": totp.at(clock.now)})
    assert "That code is not right (or was used already)" in used.text
    clock.advance(seconds=30)
    done = client.post("/login/code", data={"code": totp.at(clock.now)})
    assert done.status_code == 302 and client.get("/tickets").status_code == 200

    client.post("/logout")
    attempt(client, PASSWORD)
    assert client.post("/login/code", data={"code": codes[0]}).status_code == 302
    client.post("/logout")
    attempt(client, PASSWORD)
    again = client.post("/login/code", data={"code": codes[0]})
    assert "That code is not right" in again.text  # each recovery code works once


def test_rotating_the_secrets_key_keeps_two_factor_working(
    app, client, login, runner, monkeypatch, clock
):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    monkeypatch.setitem(app.config, "HELPDESK_SECRETS_KEY", (old,))
    monkeypatch.setattr(two_factor, "utcnow", lambda: clock.now)
    login(Role.AGENT, email=ADA)
    totp, codes = turn_on_two_factor(client)
    client.post("/logout")

    monkeypatch.setitem(app.config, "HELPDESK_SECRETS_KEY", (new, old))
    done = runner.invoke(args=["mailbox", "rotate-secrets"])
    assert done.exit_code == 0, done.output
    monkeypatch.setitem(app.config, "HELPDESK_SECRETS_KEY", (new,))  # the old key is gone
    clock.advance(seconds=30)
    attempt(client, PASSWORD)
    assert client.post("/login/code", data={"code": totp.at(clock.now)}).status_code == 302
    client.post("/logout")

    # A key changed without rotating: the app's codes cannot be checked, recovery codes can.
    monkeypatch.setitem(app.config, "HELPDESK_SECRETS_KEY", (Fernet.generate_key().decode(),))
    refused = runner.invoke(args=["mailbox", "rotate-secrets"])
    assert refused.exit_code == 1 and f"{ADA}: no configured key decrypts" in refused.output
    clock.advance(seconds=30)
    attempt(client, PASSWORD)
    unreadable = client.post("/login/code", data={"code": totp.at(clock.now)})
    assert unreadable.status_code == 200 and "That code is not right" in unreadable.text
    assert client.post("/login/code", data={"code": codes[0]}).status_code == 302


def test_wrong_codes_wait_like_wrong_passwords(client, login, clock):
    login(Role.AGENT, email=ADA)
    turn_on_two_factor(client)
    client.post("/logout")
    attempt(client, PASSWORD)
    for _ in range(5):
        page = client.post("/login/code", data={"code": "123456"})
    assert "Too many failed logins for this account: try again in 1 second." in page.text
    # The right password again does not wipe the count of wrong codes.
    assert attempt(client, PASSWORD).status_code == 429


def test_admins_must_set_up_two_factor_when_the_setting_says_so(client, login, setup, app):
    login(Role.ADMIN, email="jo@helpdesk.test", name="Jo Admin")
    assert client.get("/tickets").status_code == 200
    client.post("/admin/users/two-factor-policy", data={"required": "y"})
    blocked = client.get("/tickets")
    assert blocked.headers["Location"] == "/account/security"
    assert client.get("/admin/users").headers["Location"] == "/account/security"
    agent = app.test_client()
    with setup():
        user = User(email=ADA, name="Ada", role=Role.AGENT)
        user.set_password(PASSWORD)
        db.session.add(user)
    attempt(agent, PASSWORD)
    assert agent.get("/tickets").status_code == 200  # the setting is about admins

    client.post("/account/security/two-factor/start")
    page = client.get("/account/security")
    secret = re.search(r'id="two-factor-secret">([A-Z2-7]+)<', page.text).group(1)
    client.post("/account/security/two-factor", data={"code": pyotp.TOTP(secret).now()})
    assert client.get("/tickets").status_code == 200


def test_an_admin_resets_a_lost_two_factor_and_the_trail_shows_it(client, login, app, setup):
    admin = login(Role.ADMIN)
    ada_browser = app.test_client()
    with setup():
        user = User(email=ADA, name="Ada", role=Role.AGENT)
        user.set_password(PASSWORD)
        db.session.add(user)
        db.session.flush()
        ada = user.id
    attempt(ada_browser, PASSWORD)
    turn_on_two_factor(ada_browser)
    assert "Reset two-factor" in client.get(f"/admin/users/{ada}").text

    client.post(f"/admin/users/{ada}/two-factor/reset")
    with setup():
        assert not accounts_user(ADA).has_two_factor
        row = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "user.changed").order_by(AuditEvent.id)
        ).all()[-1]
        assert (row.actor_id, row.target_id) == (admin, str(ada))
        assert row.after == {"totp_secret_encrypted": None}
        assert row.before == {"totp_secret_encrypted": "(changed)"}
