"""CLI command groups, registered on the app so ``helpdesk`` and ``flask --app wsgi`` agree."""
