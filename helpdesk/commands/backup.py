"""``helpdesk backup`` and ``helpdesk restore``: the database and the attachment store."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from helpdesk.backups import BackupError, restore_backup, write_backup


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup(path: Path) -> None:
    """Write the database and the attachment store to the tar.gz archive PATH.

    Safe while the helpdesk runs: the database is read in one consistent snapshot.
    """
    try:
        manifest = write_backup(path)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"backed up {manifest.describe()} (schema revision {manifest.revision}) to {path}")


@click.command("restore")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace a database that already holds rows.")
@with_appcontext
def restore(path: Path, force: bool) -> None:
    """Restore the database and the attachment store from the archive PATH.

    Stop the web processes and the worker first: the database is replaced as a whole.
    """
    try:
        restored = restore_backup(path, force=force)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    manifest = restored.manifest
    click.echo(
        f"restored {manifest.describe()} from the backup of {manifest.created_at} "
        f"(schema revision {manifest.revision})"
    )
    if restored.needs_upgrade:
        click.echo("the schema is older than this version's: run `helpdesk db upgrade` now")
