"""The order stage rules and routing rules are tried in, kept the same way for both."""

from __future__ import annotations

from typing import Protocol, TypeVar

# Gaps between positions leave room for the CLI's --position to slot a rule in.
POSITION_STEP = 10


class Ordered(Protocol):
    position: int


Rule = TypeVar("Rule", bound=Ordered)


def place(rules: list[Rule], rule: Rule, index: int) -> None:
    """Put ``rule`` at ``index`` of ``rules`` (clamped to the list) and renumber them all."""
    rules.remove(rule)
    rules.insert(min(max(index, 0), len(rules)), rule)
    for number, each in enumerate(rules, start=1):
        each.position = number * POSITION_STEP
