"""What the stage model says of a request, kept apart from the classifier so that intake,
the ticket page and the stage engine import it without loading scikit-learn (seconds at every
start): the classifier is imported only where a model is trained or loaded."""

from __future__ import annotations

from dataclasses import dataclass

from helpdesk.models import Stage

# What the model reads of a request; the start of a message says what it is about.
TEXT_LIMIT = 500


def request_text(subject: str | None, text: str | None) -> str:
    """What the model reads of a request: its subject and first message."""
    return f"{subject or ''}\n{text or ''}"[:TEXT_LIMIT]


@dataclass(frozen=True, slots=True)
class Prediction:
    """The stage the model gives a text, how sure it is (0–1), and the words that weighed most."""

    stage: Stage
    confidence: float
    words: tuple[str, ...]

    def reason(self) -> str:
        """ "suggested: purchase — 'invoice', 'order'"."""
        quoted = ", ".join(f"'{word}'" for word in self.words)
        return f"suggested: {self.stage.value}" + (f" — {quoted}" if quoted else "")
