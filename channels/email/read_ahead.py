"""A helper process that parses mail ahead of intake, on a second core.

Run as ``python -m channels.email.read_ahead``: batches of ``(uid, raw)`` pairs come in on
stdin and their ``read_mail`` results go out on stdout, one pickle each, in order. It imports
the parser and nothing else, so it starts in a tenth of the time a multiprocessing worker
takes (which imports the parent's main script: for ``helpdesk``, the whole application). It
ends when its stdin closes, as it does when the fetching process ends, however that ends.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import sys
from typing import BinaryIO

from channels.email.parse import read_mail


def serve(requests: BinaryIO, answers: BinaryIO) -> None:
    """Answer each ``(pairs, endpoint, own_addresses)`` request with its parsed mail."""
    while True:
        try:
            pairs, endpoint, own_addresses = pickle.load(requests)
        except EOFError:
            return
        pickle.dump(read_mail(pairs, endpoint, own_addresses), answers, pickle.HIGHEST_PROTOCOL)
        answers.flush()


def main() -> None:
    """Serve on stdin and stdout; anything else printing goes to stderr, not into the answers."""
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    # Ctrl-C reaches the whole process group: the fetching process tells what happened.
    with contextlib.suppress(KeyboardInterrupt, BrokenPipeError):
        serve(sys.stdin.buffer, answers)


if __name__ == "__main__":
    main()
