"""The stage model on the demo data: training time and memory, prediction time per message, and
accuracy against the rules.

Usage: python bench/stage_model.py [--tickets N] [--predictions P] [--database-url URL]

Loads the demo (N tickets, default 1,000) into a fresh database (a SQLite file in the temp
folder, or with --database-url a PostgreSQL database of its own on that server, dropped
afterwards), then prints: how many tickets teach the model, the time-ordered hold-out (train
on the oldest 80 %, test on the newest 20 %) with the model's and the rules-and-defaults
baseline's accuracy and macro-F1 (also on the tickets no rule and no customer choice decided),
precision and recall per stage, the CPU time and peak memory to train on every example, and
the CPU time intake adds per message: median and p95 of P predictions, the examples' texts in
time order (again from the oldest when P is larger), through the model as intake loads it.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import tracemalloc

from ingest import scratch_database


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1000)
    parser.add_argument("--predictions", type=int, default=2000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with scratch_database(args.database_url) as url, tempfile.TemporaryDirectory() as storage:
        run(url, storage, args.tickets, args.predictions)


def run(url: str, storage: str, tickets: int, predictions: int) -> None:
    """Load the demo into ``url`` and print every figure."""
    from flask_migrate import upgrade

    from helpdesk import create_app, demo
    from helpdesk.extensions import db
    from helpdesk.stage_model import training

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "HELPDESK_STORAGE_DIR": storage})
    with app.app_context():
        upgrade()
        started = time.perf_counter()
        demo.load(tickets=tickets)
        db.session.commit()
        print(f"demo: {tickets} tickets loaded in {time.perf_counter() - started:.1f} s ({url})")

        found = training.examples()
        counts = training.stage_counts()
        print(f"examples: {len(found)} ({', '.join(f'{s.value} {n}' for s, n in counts.items())})")
        minimum = app.config["HELPDESK_STAGE_MODEL_MIN_PER_STAGE"]
        kept, left_out = training.trainable(found, minimum)
        if left_out:
            listed = ", ".join(f"{stage.value} {n}" for stage, n in left_out.items())
            print(f"left out (< {minimum}): {listed}")
        print_holdout(kept)
        print_training(kept)
        print_predictions([e.text for e in kept], predictions)


def print_holdout(kept: list) -> None:
    """Accuracy and macro-F1 of the model and the baseline on the newest 20 %."""
    from helpdesk.stage_model.evaluation import evaluate

    figures = evaluate(kept)
    print(f"hold-out: train {figures.train_size}, test {figures.holdout_size}")
    rows = [("model", figures.model), ("baseline", figures.baseline)]
    if figures.fallback_model and figures.fallback_baseline:
        rows += [
            (f"model, no rule or choice ({figures.fallback_size})", figures.fallback_model),
            (f"baseline, no rule or choice ({figures.fallback_size})", figures.fallback_baseline),
        ]
    for name, scores in rows:
        print(f"  {name:<40} accuracy {scores.accuracy:.3f}  macro-F1 {scores.macro_f1:.3f}")
    for stage, each in figures.per_stage.items():
        print(
            f"  {stage.value:<12} precision {each.precision:.2f}  recall {each.recall:.2f}  "
            f"({each.support})"
        )


def print_training(kept: list) -> None:
    """CPU time and peak traced memory of one training on every example."""
    from helpdesk.stage_model.classifier import StageClassifier

    texts, stages = [e.text for e in kept], [e.stage for e in kept]
    started = time.process_time()
    StageClassifier.train(texts, stages)
    cpu = time.process_time() - started
    tracemalloc.start()
    StageClassifier.train(texts, stages)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"train on {len(kept)}: {cpu:.2f} s CPU, peak {peak / 2**20:.0f} MB traced")


def print_predictions(texts: list[str], count: int) -> None:
    """CPU time per prediction through a model loaded as intake loads it."""
    from helpdesk.stage_model.classifier import StageClassifier
    from helpdesk.stage_model.store import promoted_model, train_now

    train_now()
    model = StageClassifier.from_bytes(promoted_model().payload)
    timings = []
    for i in range(count):
        text = texts[i % len(texts)]
        started = time.process_time_ns()
        model.predict(text)
        timings.append(time.process_time_ns() - started)
    length = statistics.mean(len(text) for text in texts)
    print(
        f"predict ({count}, texts of {length:.0f} characters on average): median "
        f"{statistics.median(timings) / 1000:.0f} µs CPU per message, "
        f"p95 {statistics.quantiles(timings, n=20)[-1] / 1000:.0f} µs"
    )


if __name__ == "__main__":
    main()
