"""The stage model on the demo data: training time, prediction time per message, and accuracy.

Usage: python bench/stage_model.py [--tickets N] [--predictions P]

Loads the demo (N tickets, default 1,000) into a fresh SQLite database in the temp folder,
then prints: how many tickets teach the model, the time-ordered hold-out (train on the oldest
80 %, test on the newest 20 %) with the model's and the rules-and-defaults baseline's accuracy
and macro-F1 (also on the tickets no rule and no customer choice decided), the time to train on
every example, and the CPU time intake adds per message (the median of P predictions of the
demo's own texts through the model as intake loads it).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1000)
    parser.add_argument("--predictions", type=int, default=2000)
    args = parser.parse_args()

    from flask_migrate import upgrade

    from helpdesk import create_app, demo
    from helpdesk.extensions import db
    from helpdesk.stage_model import training
    from helpdesk.stage_model.classifier import StageClassifier
    from helpdesk.stage_model.evaluation import evaluate

    folder = Path(tempfile.mkdtemp(prefix="stage-model-bench-"))
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'bench.sqlite3'}",
            "HELPDESK_STORAGE_DIR": str(folder / "storage"),
        }
    )
    with app.app_context():
        upgrade()
        started = time.perf_counter()
        demo.load(tickets=args.tickets)
        db.session.commit()
        print(f"demo: {args.tickets} tickets loaded in {time.perf_counter() - started:.1f} s")

        found = training.examples()
        counts = training.stage_counts()
        print(f"examples: {len(found)} ({', '.join(f'{s.value} {n}' for s, n in counts.items())})")
        minimum = app.config["HELPDESK_STAGE_MODEL_MIN_PER_STAGE"]
        kept, left_out = training.trainable(found, minimum)
        if left_out:
            listed = ", ".join(f"{stage.value} {n}" for stage, n in left_out.items())
            print(f"left out (< {minimum}): {listed}")

        figures = evaluate(kept)
        print(f"hold-out: train {figures.train_size}, test {figures.holdout_size}")
        print(
            f"  model     accuracy {figures.model.accuracy:.3f}  "
            f"macro-F1 {figures.model.macro_f1:.3f}"
        )
        print(
            f"  baseline  accuracy {figures.baseline.accuracy:.3f}  "
            f"macro-F1 {figures.baseline.macro_f1:.3f}"
        )
        if figures.fallback_model and figures.fallback_baseline:
            print(
                f"  no rule or choice ({figures.fallback_size}): model accuracy "
                f"{figures.fallback_model.accuracy:.3f}, baseline "
                f"{figures.fallback_baseline.accuracy:.3f}"
            )
        for stage, each in figures.per_stage.items():
            print(f"  {stage.value:<12} precision {each.precision:.2f}  recall {each.recall:.2f}")

        started = time.process_time()
        model = StageClassifier.train([e.text for e in kept], [e.stage for e in kept])
        print(f"train on {len(kept)}: {time.process_time() - started:.2f} s CPU")

        model = StageClassifier.from_bytes(model.to_bytes())
        texts = [e.text for e in kept]
        timings = []
        for i in range(args.predictions):
            text = texts[i % len(texts)]
            started = time.process_time_ns()
            model.predict(text)
            timings.append(time.process_time_ns() - started)
        print(
            f"predict: median {statistics.median(timings) / 1000:.0f} µs CPU per message, "
            f"p95 {statistics.quantiles(timings, n=20)[-1] / 1000:.0f} µs"
        )


if __name__ == "__main__":
    main()
