"""Fuzzing the three doors: mutated MIME mail, signed Twilio webhook forms, chat widget requests.

Usage: python bench/fuzz.py [--per-kind N] [--seed S] [--kinds twilio,chat,mail]
                            [--database-url URL] [--failures DIR]

Sends N seeded inputs of each kind through the real parse and intake paths and prints, per
kind, how many were stored, quarantined, dropped as copies or loops, or refused with a 4xx,
and the rate (the generators are in tests/fuzz_mail.py and tests/fuzz_inputs.py, the loop in
tests/fuzz_drive.py, shared with the suite's sample). Anything else (an exception, a 5xx, an
unclear refusal, an input accepted and then not found) is a failure: its input is saved under
--failures to become a regression test, and the exit status is 1. Without --database-url it
uses a fresh SQLite file; a PostgreSQL URL gets a fresh database, dropped afterwards.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]

from fuzz_drive import KINDS, Tally, fuzz_all  # noqa: E402  (tests/fuzz_drive.py)
from fuzz_mail import mutated_mail  # noqa: E402
from ingest import scratch_database  # noqa: E402  (bench/ingest.py)


def run(
    per_kind: int, seed: int, kinds: tuple[str, ...], database_url: str | None, failures: Path
) -> int:
    os.environ.setdefault("SECRET_KEY", "bench")
    from flask_migrate import upgrade

    from helpdesk import create_app
    from helpdesk.extensions import db

    with scratch_database(database_url) as url, tempfile.TemporaryDirectory() as storage:
        app = create_app(
            {
                "TESTING": True,
                "SQLALCHEMY_DATABASE_URI": url,
                "HELPDESK_STORAGE_DIR": storage,
                "HELPDESK_PUBLIC_URL": "http://helpdesk.test",
            }
        )
        with app.app_context():
            with _quiet(logging.INFO):
                upgrade()
            # The table below says what happened to each input; the log would say it line by line.
            logging.getLogger().handlers[:] = [logging.NullHandler()]
            dialect = db.engine.dialect.name
            print(f"{dialect}, seed {seed}, {per_kind} inputs per kind", flush=True)
            started = time.perf_counter()
            tallies = []
            for tally in fuzz_all(app, seed, per_kind, kinds):
                _print(tally)
                tallies.append(tally)
            elapsed = time.perf_counter() - started
            db.session.remove()
            db.engine.dispose()
    print(f"\n{elapsed:.1f} s in all")
    failed = [failure for tally in tallies for failure in tally.failures]
    if failed:
        failures.mkdir(parents=True, exist_ok=True)
        for failure in failed:
            _save(failure, seed, failures)
        print(f"{len(failed)} failures; inputs saved in {failures}")
    return 1 if failed else 0


@contextmanager
def _quiet(level: int) -> Iterator[None]:
    logging.disable(level)
    try:
        yield
    finally:
        logging.disable(logging.NOTSET)


def _print(tally: Tally) -> None:
    rate = tally.count / tally.seconds if tally.seconds else 0.0
    print(f"\n{tally.kind}: {tally.count} inputs in {tally.seconds:.1f} s ({rate:.0f}/s)")
    for outcome, number in sorted(tally.outcomes.items(), key=lambda item: -item[1]):
        print(f"  {number:>7}  {outcome}", flush=True)


def _save(failure, seed: int, folder: Path) -> None:
    stem = folder / f"{failure.kind}-seed{seed}-case{failure.case}"
    stem.with_suffix(f".{failure.suffix}").write_bytes(failure.data)
    described = mutated_mail(seed, failure.case)[1] if failure.kind == "mail" else ""
    stem.with_suffix(".txt").write_text(f"{described}\n{failure.problem}\n")
    print(f"  {failure.kind} case {failure.case}: {failure.problem.splitlines()[-1][:150]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-kind", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument(
        "--kinds",
        default=",".join(KINDS),
        type=lambda value: tuple(value.split(",")),
        help="which doors, comma-separated (default: all three)",
    )
    parser.add_argument("--database-url")
    parser.add_argument("--failures", type=Path, default=Path("fuzz-failures"))
    args = parser.parse_args()
    unknown = set(args.kinds) - set(KINDS)
    if unknown:
        parser.error(f"unknown kinds: {', '.join(sorted(unknown))}")
    sys.exit(run(args.per_kind, args.seed, args.kinds, args.database_url, args.failures))


if __name__ == "__main__":
    main()
