"""Alembic environment: runs the reporting migrations on the connection ``Database.migrate()`` hands over.

There is no alembic.ini and no URL here on purpose: the caller owns the engine (and, on PostgreSQL,
holds an advisory lock on this very connection), so migrations never open a second connection.
"""

from __future__ import annotations

from alembic import context

from coding_agent.reporting.schema import VERSION_TABLE, metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run the reporting migrations through coding_agent.reporting.Database.migrate()")

context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    # SQLite cannot ALTER most things in place; batch mode copies the table instead.
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
