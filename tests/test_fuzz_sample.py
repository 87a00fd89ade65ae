"""A seeded sample of bench/fuzz.py: hostile mail, Twilio forms and chat requests, every one
stored, quarantined, dropped as a copy or loop, or refused with a clear 4xx; none crashes, gets a
5xx or is lost. The full 10,000 per kind run in the benchmark."""

from __future__ import annotations

from fuzz_drive import fuzz_all

SEED = 20261207
PER_KIND = 200


def test_hostile_input_is_stored_quarantined_or_refused_never_crashed_or_lost(ctx, app):
    tallies = list(fuzz_all(app, SEED, PER_KIND))

    failures = [f"{f.kind} case {f.case}: {f.problem}" for t in tallies for f in t.failures]
    assert failures == []
    outcomes = {tally.kind: tally.outcomes for tally in tallies}
    assert all(tally.count == PER_KIND for tally in tallies)
    # The sample reaches every door's interesting answers, not only its refusals.
    assert outcomes["mail"]["stored"] and outcomes["mail"]["quarantined"]
    assert outcomes["twilio"]["stored"] and outcomes["twilio"]["refused 400 at the webhook"]
    assert outcomes["twilio"]["refused by intake (kept with its reason)"]
    assert outcomes["chat"]["stored: message"] and outcomes["chat"]["refused 400 invalid"]
