"""Two-factor logins: a TOTP authenticator app (RFC 6238, by pyotp) or a one-time recovery
code after the password, and the admin setting that makes admins use it.

Like the other services this flushes and never commits.
"""

from __future__ import annotations

import hashlib
import secrets

import pyotp
from sqlalchemy import delete, select

from helpdesk import credentials
from helpdesk.extensions import db
from helpdesk.models import RecoveryCode, Role, SecurityPolicy, User, utcnow

ISSUER = "Helpdesk"
RECOVERY_CODES = 10
# One step (30 s) either side: a phone's clock a little off still works.
CLOCK_DRIFT_STEPS = 1


class TwoFactorError(Exception):
    """A code that does not confirm the setup; the message says what to do."""


def new_secret() -> str:
    """A fresh secret for the authenticator app (base32, 160 bits)."""
    return pyotp.random_base32(length=32)


def setup_uri(user: User, secret: str) -> str:
    """The otpauth:// address an authenticator app takes (typed or pasted) for ``secret``."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def turn_on(user: User, secret: str, code: str) -> list[str]:
    """Keep ``secret`` once ``code`` proves the app has it; the new recovery codes, shown once."""
    step = _matching_step(secret, code, after=None)
    if step is None:
        raise TwoFactorError("That code does not match: type the 6 digits the app shows now.")
    user.totp_secret_encrypted = credentials.encrypt(secret)
    user.totp_last_step = step
    return _new_recovery_codes(user)


def turn_off(user: User) -> None:
    """Back to the password alone (the user's own choice, or an admin's reset)."""
    user.totp_secret_encrypted = None
    user.totp_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.flush()


def accepts(user: User, code: str) -> bool:
    """Whether ``code`` is the app's current code (each used once) or an unused recovery code."""
    if user.totp_secret_encrypted is None:  # reset by an admin meanwhile
        return False
    code = "".join(code.split())
    try:
        secret = credentials.decrypt(user.totp_secret_encrypted)
    except credentials.UnreadableCredential:
        # HELPDESK_SECRETS_KEY changed without the old key: only a recovery code opens now.
        secret = None
    step = _matching_step(secret, code, after=user.totp_last_step) if secret else None
    if step is not None:
        user.totp_last_step = step
        db.session.flush()
        return True
    recovery = db.session.scalar(
        select(RecoveryCode).where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _hash(code.lower()),
            RecoveryCode.used_at.is_(None),
        )
    )
    if recovery is None:
        return False
    recovery.used_at = utcnow()
    db.session.flush()
    return True


def rotate_secrets() -> list[User]:
    """Re-encrypt every app key with the newest key; the users whose key no key opens."""
    unreadable = []
    users = db.session.scalars(select(User).where(User.totp_secret_encrypted.is_not(None)))
    for user in users:
        try:
            user.totp_secret_encrypted = credentials.reencrypt(user.totp_secret_encrypted)
        except credentials.UnreadableCredential:
            unreadable.append(user)
    db.session.flush()
    return unreadable


def recovery_codes_left(user: User) -> int:
    return len(
        db.session.scalars(
            select(RecoveryCode.id).where(
                RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
            )
        ).all()
    )


def policy() -> SecurityPolicy:
    """The install's login settings (made on first use)."""
    found = db.session.scalar(select(SecurityPolicy).order_by(SecurityPolicy.id).limit(1))
    if found is None:
        found = SecurityPolicy(require_admin_two_factor=False)
        db.session.add(found)
        db.session.flush()
    return found


def set_required_for_admins(required: bool) -> None:
    """Whether admins must have two-factor before they can use anything else."""
    policy().require_admin_two_factor = required
    db.session.flush()


def setup_required(user: User) -> bool:
    """Whether the user must turn two-factor on before anything else."""
    if user.role != Role.ADMIN or user.has_two_factor:
        return False
    found = db.session.scalar(select(SecurityPolicy.require_admin_two_factor).limit(1))
    return bool(found)


def _matching_step(secret: str, code: str, after: int | None) -> int | None:
    if not (len(code) == 6 and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    now_step = totp.timecode(utcnow())
    for step in range(now_step - CLOCK_DRIFT_STEPS, now_step + CLOCK_DRIFT_STEPS + 1):
        if (after is None or step > after) and secrets.compare_digest(
            totp.generate_otp(step), code
        ):
            return step
    return None


def _new_recovery_codes(user: User) -> list[str]:
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(RECOVERY_CODES)]
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=_hash(code)) for code in codes)
    db.session.flush()
    return codes


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()
