"""The schema comes only from the migrations, and they match the models."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from helpdesk.extensions import db
from helpdesk.tickets.search import include_in_autogenerate


def test_migrations_create_every_table(ctx):
    tables = set(inspect(db.engine).get_table_names())
    assert set(db.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_models_and_migrations_have_not_drifted_apart(ctx):
    with db.engine.connect() as connection:
        migration_context = MigrationContext.configure(
            connection,
            # The word index is the database's own full-text engine, made by migration 0002
            # per dialect and kept out of the models; include_in_autogenerate skips it.
            opts={
                "compare_type": True,
                "render_as_batch": True,
                "include_name": include_in_autogenerate,
            },
        )
        differences = compare_metadata(migration_context, db.metadata)
    assert differences == [], "run `helpdesk db migrate` and commit the new revision"
