"""WSGI entry point: ``flask --app wsgi run`` or any WSGI server pointed at ``wsgi:app``."""

import gc

from helpdesk import create_app

app = create_app()
# What start-up built (modules, classes, mappers, the app) lives as long as the process: the
# collector's full passes need not walk it again. Without this, a full pass now and then costs
# a request about a tenth of a second of CPU at once (the queue's p95 at a million tickets).
gc.freeze()
