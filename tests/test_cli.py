"""The ``helpdesk`` commands for users, tokens and stage rules."""

import subprocess
import sys

from sqlalchemy import select

from helpdesk.extensions import db
from helpdesk.models import ApiToken, Role, StageRule, User


def test_console_script_lists_the_commands():
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    for name in ("users", "stages", "routing", "worker", "demo", "db"):
        assert f"  {name}" in result.stdout


def test_create_user_asks_for_the_password_twice(ctx, runner):
    result = runner.invoke(
        args=["users", "create", "Lead@Shop.test", "--role", "admin"],
        input="long enough pw\nlong enough pw\n",
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.email == "lead@shop.test"))
    assert user.role == Role.ADMIN
    assert user.check_password("long enough pw")


def test_create_user_refuses_mismatched_short_or_duplicate(ctx, runner, make_user):
    mismatch = runner.invoke(args=["users", "create", "a@x.test"], input="long enough pw\nother\n")
    assert "do not match" in mismatch.output.lower()
    short = runner.invoke(args=["users", "create", "a@x.test", "--password", "short"])
    assert short.exit_code != 0 and "at least 12" in short.output
    make_user(email="taken@x.test")
    taken = runner.invoke(args=["users", "create", "taken@x.test", "--password", "long enough"])
    assert taken.exit_code != 0 and "already exists" in taken.output


def test_token_is_minted_per_call_printed_last_and_revocable(ctx, runner, make_user):
    make_user(email="api@x.test")
    first = runner.invoke(args=["users", "token", "api@x.test", "--name", "ci"])
    second = runner.invoke(args=["users", "token", "api@x.test"])
    assert first.exit_code == second.exit_code == 0
    secret = first.output.split()[-1]
    assert secret != second.output.split()[-1]
    token = db.session.scalar(select(ApiToken).where(ApiToken.name == "ci"))
    assert token.token_hash == ApiToken.hash(secret) != secret
    revoked = runner.invoke(args=["users", "revoke-token", "ci"])
    assert revoked.exit_code == 0
    db.session.refresh(token)
    assert token.revoked_at is not None
    unknown = runner.invoke(args=["users", "revoke-token", "nope"])
    assert unknown.exit_code != 0 and "no token named nope" in unknown.output


def test_stage_rules_can_be_added_listed_tested_and_removed(ctx, runner):
    add = runner.invoke(
        args=["stages", "add", "sales alias", "--stage", "purchase", "--recipient", "sales@x.test"]
    )
    assert add.exit_code == 0, add.output
    assert runner.invoke(args=["stages", "add", "sales alias", "--stage", "use"]).exit_code != 0
    listing = runner.invoke(args=["stages", "list"])
    assert "sales alias" in listing.output and "recipient=sales@x.test" in listing.output
    assert "[decided 0, corrected 0]" in listing.output
    tried = runner.invoke(args=["stages", "test", "--recipient", "sales@x.test"])
    assert "stage:  purchase" in tried.output
    assert "reason: sent to sales@x.test" in tried.output
    assert "tried sales alias: matched" in tried.output
    missed = runner.invoke(args=["stages", "test", "--recipient", "help@x.test"])
    assert "tried sales alias: no match: needs sent to sales@x.test" in missed.output
    assert runner.invoke(args=["stages", "remove", "sales alias"]).exit_code == 0
    assert db.session.scalars(select(StageRule)).all() == []


def test_endpoint_default_stage_is_set_from_the_cli(ctx, runner):
    result = runner.invoke(args=["stages", "default", "email", "help@x.test", "use"])
    assert result.exit_code == 0, result.output
    tried = runner.invoke(args=["stages", "test", "--endpoint", "help@x.test"])
    assert "source: endpoint-default" in tried.output
