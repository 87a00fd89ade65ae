"""Measured honestly: a time-ordered hold-out (train on the oldest 80 % of the examples, test on
the newest 20 %), the model against what the rules and defaults said at intake."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sklearn.metrics import accuracy_score, confusion_matrix, f1_score
from sklearn.metrics import precision_recall_fscore_support as per_label

from helpdesk.models import Stage
from helpdesk.stage_model.classifier import StageClassifier
from helpdesk.stage_model.training import Example, HoldoutTooSmall

HOLDOUT_SHARE = 0.2


@dataclass(frozen=True, slots=True)
class Scores:
    """Accuracy and macro-F1 (each stage counts alike) of one way of guessing the stage."""

    accuracy: float
    macro_f1: float


@dataclass(frozen=True, slots=True)
class StageFigures:
    precision: float
    recall: float
    support: int


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Every figure of one hold-out."""

    train_size: int
    holdout_size: int
    model: Scores
    baseline: Scores
    # The hold-out tickets no rule and no customer choice decided (endpoint default or
    # unknown at intake): where the model is meant to help.
    fallback_size: int
    fallback_model: Scores | None
    fallback_baseline: Scores | None
    per_stage: dict[Stage, StageFigures]
    # Rows: the stage people gave; columns: the model's, both in ``labels`` order.
    labels: tuple[Stage, ...]
    confusion: tuple[tuple[int, ...], ...]


def split(found: Sequence[Example]) -> tuple[list[Example], list[Example]]:
    """Oldest 80 % to train on, newest 20 % to test on (``found`` is oldest first)."""
    cut = len(found) - max(1, round(len(found) * HOLDOUT_SHARE))
    return list(found[:cut]), list(found[cut:])


def evaluate(found: Sequence[Example]) -> Evaluation:
    """Train on the older examples and score on the newer ones."""
    train, test = split(found)
    if len({example.stage for example in train}) < 2:
        raise HoldoutTooSmall("the older 80 % of the examples hold fewer than two stages")
    classifier = StageClassifier.train([e.text for e in train], [e.stage for e in train])
    guessed = classifier.classify([e.text for e in test])
    labels = tuple(stage for stage in Stage if stage in {e.stage for e in found})
    truth = [e.stage for e in test]
    baseline = [e.baseline for e in test]
    fallback = [i for i, e in enumerate(test) if e.fell_back]
    precision, recall, _, support = per_label(
        truth, guessed, labels=list(labels), zero_division=0.0
    )
    return Evaluation(
        train_size=len(train),
        holdout_size=len(test),
        model=_scores(truth, guessed),
        baseline=_scores(truth, baseline),
        fallback_size=len(fallback),
        fallback_model=_picked(truth, guessed, fallback),
        fallback_baseline=_picked(truth, baseline, fallback),
        per_stage={
            stage: StageFigures(float(precision[i]), float(recall[i]), int(support[i]))
            for i, stage in enumerate(labels)
        },
        labels=labels,
        confusion=tuple(
            tuple(int(n) for n in row)
            for row in confusion_matrix(truth, guessed, labels=list(labels))
        ),
    )


def _scores(truth: list[Stage], guessed: list[Stage]) -> Scores:
    # Macro-F1 over the stages people gave these tickets: an `unknown` guess only counts as wrong.
    labels = [stage for stage in Stage if stage in set(truth)]
    return Scores(
        float(accuracy_score(truth, guessed)),
        float(f1_score(truth, guessed, labels=labels, average="macro", zero_division=0.0)),
    )


def _picked(truth: list[Stage], guessed: list[Stage], picked: list[int]) -> Scores | None:
    if not picked:
        return None
    return _scores([truth[i] for i in picked], [guessed[i] for i in picked])
