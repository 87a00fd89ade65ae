"""What a password must be: long, not a common one, not the person's own name or address.

The common list is a short file shipped with the code rather than a library: the length rule
already rules out most of the leaked-password lists, the check must work offline, and what is
left to catch (a common word padded with digits and signs) is a few lines of normalisation.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

MIN_PASSWORD_LENGTH = 12
_COMMON_FILE = Path(__file__).resolve().parent / "common_passwords.txt"
# Letter-for-sign swaps that make "P@ssw0rd" no harder to guess than "password".
_SWAPS = str.maketrans(
    {"@": "a", "4": "a", "0": "o", "1": "i", "!": "i", "3": "e", "$": "s", "5": "s"}
)
_SEQUENCES = (
    "01234567890123456789",
    "98765432109876543210",
    "abcdefghijklmnopqrstuvwxyz",
    "qwertyuiopasdfghjklzxcvbnm",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm",
    "1q2w3e4r5t6y7u8i9o0p",
)


def password_problem(password: str, email: str = "", name: str = "") -> str | None:
    """Why ``password`` is refused for the person with this email and name; None when it is fine."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"must be at least {MIN_PASSWORD_LENGTH} characters"
    plain = _letters_and_digits(password)
    if _is_common(password, plain):
        return "is one of the passwords guessed first; choose a longer phrase of unrelated words"
    if _made_of_own_details(plain, email, name):
        return "must not be made of the user's own name or email address"
    return None


def _letters_and_digits(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.lower())


def _is_common(password: str, plain: str) -> bool:
    if len(set(plain)) <= 2 or _repeats_a_short_part(plain) or _is_a_run(plain):
        return True
    lowered = password.lower()
    # Digits and signs tacked on the end ("password2024!") make a common stem no safer.
    stem = re.sub(r"[^a-z]+$", "", lowered)
    forms = {plain, plain.rstrip("0123456789")}
    forms |= {_letters_and_digits(text.translate(_SWAPS)) for text in (lowered, stem)}
    return not _common_stems().isdisjoint(forms)


def _repeats_a_short_part(plain: str) -> bool:
    """ "abcabcabcabc", "ab12ab12ab12": one short part said again and again."""
    return any(
        len(plain) % size == 0 and plain[:size] * (len(plain) // size) == plain
        for size in range(1, len(plain) // 2 + 1)
    )


def _is_a_run(plain: str) -> bool:
    return any(plain in run for run in _SEQUENCES)


def _made_of_own_details(plain: str, email: str, name: str) -> bool:
    """Whether taking the person's name or address out of the password leaves little else."""
    local_part = email.split("@")[0]
    details = {_letters_and_digits(part) for part in (email, local_part, name, *name.split())}
    for detail in sorted((d for d in details if len(d) >= 3), key=len, reverse=True):
        if detail in plain and len(plain.replace(detail, "")) < MIN_PASSWORD_LENGTH // 2:
            return True
    return False


@cache
def _common_stems() -> frozenset[str]:
    lines = _COMMON_FILE.read_text().splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))
