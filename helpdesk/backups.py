"""Backups: the database and the attachment store in one tar.gz archive, and back.

An archive holds ``manifest.json`` (what it is: database kind, schema revision, time, counts),
the database (SQLite: a copy made with SQLite's online backup; PostgreSQL: a ``pg_dump`` custom
format dump) and the store's files under ``storage/``. Both are taken while the app runs.
"""

from __future__ import annotations

import glob
import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import zlib
from contextlib import closing
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy import URL, Connection, create_engine, func, inspect, select, table, text

from helpdesk.extensions import db
from helpdesk.storage import blob_store

FORMAT = 1
MANIFEST = "manifest.json"
DUMPS = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
STORE = "storage"
# What the manifest counts, so a restore can say what came back.
COUNTED = ("users", "customers", "tickets", "messages", "attachments")
_BLOB_MEMBER = re.compile(rf"{STORE}/[0-9a-f]{{2}}/[0-9a-f]{{2}}/([0-9a-f]{{64}})")


class BackupError(Exception):
    """A backup or restore that cannot go ahead; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class Manifest:
    """What an archive holds."""

    database: str
    revision: str
    created_at: str
    # The dump's SHA-256: a damaged dump could otherwise load as a partial database.
    database_sha256: str
    counts: dict[str, int] = field(default_factory=dict)
    format: int = FORMAT

    def describe(self) -> str:
        """The counts in words, e.g. "3 tickets, 5 messages, 2 stored files"."""
        return ", ".join(f"{number} {name}" for name, number in self.counts.items())


@dataclass(frozen=True, slots=True)
class Restored:
    """The outcome of a restore: what came back, and whether the schema needs upgrading."""

    manifest: Manifest
    needs_upgrade: bool


def write_backup(path: Path) -> Manifest:
    """Write the database and the store to the archive ``path`` (replaced only when complete)."""
    dialect = db.engine.dialect.name
    store = Path(current_app.config["HELPDESK_STORAGE_DIR"])
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".helpdesk-backup-") as work:
        dump = Path(work) / _dump_name(dialect)
        taken_at = datetime.now(UTC).isoformat(timespec="seconds")
        revision, counts = _dump_sqlite(dump) if dialect == "sqlite" else _dump_postgresql(dump)
        partial = Path(work) / "archive.tar.gz"
        # Password hashes, token hashes and customers' data: for the owner's eyes only.
        partial.touch(mode=0o600)
        dump.chmod(0o600)
        with tarfile.open(partial, "w:gz") as archive:
            # The store after the database: every file a dumped row names is already in it.
            files = _add_store(archive, store)
            manifest = Manifest(
                database=dialect,
                revision=revision,
                database_sha256=_sha256(dump),
                created_at=taken_at,
                counts={**counts, "stored files": files},
            )
            _add_bytes(archive, MANIFEST, json.dumps(asdict(manifest), indent=2).encode())
            archive.add(dump, arcname=dump.name)
        os.replace(partial, path)
    return manifest


def restore_backup(path: Path, force: bool = False) -> Restored:
    """Replace the database and add the store's files from the archive ``path``.

    Refuses a database holding rows unless ``force``, a backup of another kind of database,
    and a schema revision this code does not know (a newer version made the backup). The
    database is replaced only once the whole archive has been read and checked.
    """
    if not path.is_file():
        raise BackupError(f"there is no file {path}")
    try:
        with (
            tarfile.open(path, "r:gz") as archive,
            tempfile.TemporaryDirectory(prefix=".helpdesk-restore-") as work,
        ):
            manifest = _read_manifest(archive)
            needs_upgrade = _check_restorable(manifest, force)
            dump = _unpack(archive, manifest, Path(work))
            if manifest.database == "sqlite":
                _restore_sqlite(dump)
            else:
                _restore_postgresql(dump)
    except (tarfile.TarError, EOFError, zlib.error) as error:
        raise BackupError(f"{path} is damaged or no backup archive: {error}") from None
    return Restored(manifest, needs_upgrade)


def _check_restorable(manifest: Manifest, force: bool) -> bool:
    """Refuse what cannot be restored here; whether the schema must be upgraded after."""
    dialect = db.engine.dialect.name
    if manifest.database != dialect:
        raise BackupError(
            f"this is a backup of a {manifest.database} database, "
            f"but DATABASE_URL names a {dialect} one"
        )
    head, known = code_revisions()
    if manifest.revision not in known:
        raise BackupError(
            f"the backup has schema revision {manifest.revision}, which this version of the "
            "helpdesk does not know: restore it with the version that made it"
        )
    if not force and _holds_rows():
        raise BackupError(
            "the database is not empty; restore with --force to replace everything in it"
        )
    return manifest.revision != head


def _dump_name(dialect: str) -> str:
    if dialect not in DUMPS:
        raise BackupError(f"backups cover SQLite and PostgreSQL, not {dialect}")
    return DUMPS[dialect]


def _describe(connection: Connection) -> tuple[str, dict[str, int]]:
    """The schema revision and the row counts of the database behind ``connection``."""
    tables = set(inspect(connection).get_table_names())
    if "alembic_version" not in tables:
        raise BackupError("the database has no schema yet: run `helpdesk db upgrade` first")
    revision = connection.scalar(text("SELECT version_num FROM alembic_version"))
    counts = {
        name: connection.scalar(select(func.count()).select_from(table(name)))
        for name in COUNTED
        if name in tables
    }
    return revision, counts


def _dump_sqlite(target: Path) -> tuple[str, dict[str, int]]:
    raw = db.engine.raw_connection()
    try:
        with closing(sqlite3.connect(target)) as copy:
            # The online backup reads a consistent snapshot while the app goes on writing.
            raw.driver_connection.backup(copy)
            # One self-contained file, without a write-ahead log beside it.
            copy.execute("PRAGMA journal_mode=DELETE")
    finally:
        raw.close()
    engine = create_engine(f"sqlite:///{target}")
    try:
        with engine.connect() as connection:
            return _describe(connection)
    finally:
        engine.dispose()


def _dump_postgresql(target: Path) -> tuple[str, dict[str, int]]:
    with db.engine.connect() as connection:
        connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            # pg_dump reads the snapshot the counts were taken in, so they describe the dump.
            snapshot = connection.scalar(text("SELECT pg_export_snapshot()"))
            revision, counts = _describe(connection)
            pg_dump = _pg_tool("pg_dump", connection.dialect.server_version_info[0])
            _run_on_database(
                [pg_dump, "--format=custom", f"--snapshot={snapshot}", f"--file={target}"]
            )
    return revision, counts


def _add_store(archive: tarfile.TarFile, store: Path) -> int:
    """Add every stored file under ``storage/``; the number added."""
    added = 0
    for blob in sorted(store.glob("??/??/*")):
        if not _BLOB_MEMBER.fullmatch(f"{STORE}/{blob.relative_to(store).as_posix()}"):
            continue  # a write in progress (``.tmp``), not yet a stored file
        try:
            archive.add(blob, arcname=f"{STORE}/{blob.relative_to(store).as_posix()}")
        except FileNotFoundError:
            continue  # erased since it was listed (privacy erasure deletes files)
        added += 1
    return added


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(datetime.now(UTC).timestamp())
    info.mode = 0o600
    archive.addfile(info, io.BytesIO(data))


def _read_manifest(archive: tarfile.TarFile) -> Manifest:
    try:
        member = archive.getmember(MANIFEST)
        handle = archive.extractfile(member)
        values = json.loads(handle.read() if handle else b"")
        manifest = Manifest(**values)
    except (KeyError, ValueError, TypeError, tarfile.TarError):
        raise BackupError(
            f"the archive has no readable {MANIFEST}: not a helpdesk backup"
        ) from None
    if manifest.format != FORMAT:
        raise BackupError(f"backup format {manifest.format} is not one this version reads")
    return manifest


def code_revisions() -> tuple[str, set[str]]:
    """The code's head schema revision and every revision it knows."""
    config = current_app.extensions["migrate"].migrate.get_config()
    script = ScriptDirectory.from_config(config)
    head = script.get_current_head()
    return head, {revision.revision for revision in script.walk_revisions()}


def _holds_rows() -> bool:
    """Whether any of the helpdesk's tables has a row (created but empty tables do not count)."""
    with db.engine.connect() as connection:
        existing = set(inspect(connection).get_table_names())
        return any(
            connection.scalar(select(1).select_from(table(name)).limit(1)) is not None
            for name in db.metadata.tables
            if name in existing
        )


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _unpack(archive: tarfile.TarFile, manifest: Manifest, work: Path) -> Path:
    """Put the archive's files into the store and its dump into ``work``; the dump's path.

    Every member is checked: only the manifest, the dump and files whose content matches their
    name are taken, so a damaged or foreign archive cannot write anywhere else.
    """
    store = blob_store()
    dump = work / DUMPS[manifest.database]
    for member in archive:
        if member.name == MANIFEST:
            continue
        source = archive.extractfile(member) if member.isfile() else None
        blob = _BLOB_MEMBER.fullmatch(member.name)
        if source is None or not (blob or member.name == dump.name):
            raise BackupError(f"the archive holds {member.name!r}, which no backup holds")
        if blob is None:
            with dump.open("wb") as target:
                shutil.copyfileobj(source, target)
            continue
        data = source.read()
        if hashlib.sha256(data).hexdigest() != blob.group(1):
            raise BackupError(f"{member.name} in the archive is damaged (its content changed)")
        store.put(data)
    if not dump.exists():
        raise BackupError(f"the archive holds no {dump.name}")
    if _sha256(dump) != manifest.database_sha256:
        raise BackupError(f"{dump.name} in the archive is damaged (its content changed)")
    return dump


def _restore_sqlite(dump: Path) -> None:
    db.engine.dispose()
    raw = db.engine.raw_connection()
    try:
        with closing(sqlite3.connect(dump)) as source:
            # Page by page over the live file, under SQLite's locks: other processes see the
            # old database or the restored one, never a mix.
            source.backup(raw.driver_connection)
    except sqlite3.DatabaseError as error:
        raise BackupError(f"the database in the archive is unreadable: {error}") from None
    finally:
        raw.close()
        db.engine.dispose()


def _restore_postgresql(dump: Path) -> None:
    """Drop every table and load the dump, in one transaction: a failure leaves all as it was."""
    with db.engine.connect() as connection:
        server_major = connection.dialect.server_version_info[0]
        quote = connection.dialect.identifier_preparer.quote
        # Tables a newer schema added would stay behind, with foreign keys to the dump's.
        tables = ", ".join(quote(name) for name in inspect(connection).get_table_names())
    db.engine.dispose()
    # The whole script first: psql would commit a script cut short by a failing pg_restore.
    script = dump.with_suffix(".sql")
    _run(
        [
            _pg_tool("pg_restore", server_major),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-acl",
            f"--file={script}",
            str(dump),
        ]
    )
    drop = ["--command", f"DROP TABLE IF EXISTS {tables} CASCADE"] if tables else []
    _run_on_database(
        [
            _pg_tool("psql", server_major),
            "--no-psqlrc",
            "--quiet",
            "--single-transaction",
            "--set=ON_ERROR_STOP=1",
            *drop,
            f"--file={script}",
        ]
    )


def _pg_tool(name: str, server_major: int) -> str:
    """A PostgreSQL client tool (``pg_dump``, ``psql``…) of the server's version or newer."""
    candidates = [
        f"/usr/lib/postgresql/{server_major}/bin/{name}",
        shutil.which(name),
        *sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True),
    ]
    for candidate in filter(None, candidates):
        if Path(candidate).is_file() and _major_version(candidate) >= server_major:
            return candidate
    raise BackupError(
        f"{name} of PostgreSQL {server_major} or later is needed: install "
        f"postgresql-client-{server_major} (`make services` does) or put it on PATH"
    )


def _major_version(tool: str) -> int:
    answer = subprocess.run([tool, "--version"], capture_output=True, text=True, check=False)
    found = re.search(r"\)\s+(\d+)", answer.stdout)
    return int(found.group(1)) if found else 0


def _run_on_database(arguments: list[str]) -> None:
    """Run a PostgreSQL client tool on the app's database.

    The password goes through the environment, not the command line others can read.
    """
    url = db.engine.url
    libpq = URL.create(
        "postgresql",
        username=url.username,
        host=url.host,
        port=url.port,
        database=url.database,
        query=url.query,
    ).render_as_string(hide_password=False)
    env = {**os.environ, **({"PGPASSWORD": url.password} if url.password else {})}
    _run([*arguments, f"--dbname={libpq}"], env)


def _run(arguments: list[str], env: dict[str, str] | None = None) -> None:
    """Run a tool; what it complains of on failure becomes a BackupError."""
    answer = subprocess.run(arguments, capture_output=True, env=env, check=False)
    if answer.returncode != 0:
        complaint = answer.stderr.decode(errors="replace").strip() or answer.returncode
        raise BackupError(f"{Path(arguments[0]).name} failed: {complaint}")
