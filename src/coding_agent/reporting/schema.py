"""The reporting tables as SQLAlchemy Core objects, used by the stores to build their queries.

The schema itself is created and evolved by the Alembic migrations in ``migrations/versions``; this
module must describe the same columns as the latest revision. ``task_activities`` keeps the
specification's column names so its monitoring query runs verbatim; ``agent_messages`` holds the
agent's conversation transcript outside Temporal's history.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

# A project-specific name, so the product can share a database with other Alembic-managed schemas.
VERSION_TABLE = "coding_agent_alembic_version"

# JSONB on PostgreSQL lets operators query details (details->>'tool'); plain JSON text elsewhere.
JSONType = sa.JSON().with_variant(JSONB(), "postgresql")
# SQLite only auto-increments an INTEGER PRIMARY KEY.
BigIntId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

metadata = sa.MetaData()

task_activities = sa.Table(
    "task_activities",
    metadata,
    sa.Column("id", BigIntId, primary_key=True, autoincrement=True),
    sa.Column("task_id", sa.String(128), nullable=False),
    sa.Column("activity_type", sa.String(32), nullable=False),
    sa.Column("message", sa.Text(), nullable=False),
    sa.Column("details", JSONType, nullable=False),
    sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
    sa.Column("workflow_id", sa.String(255), nullable=False, server_default=""),
    sa.Column("company_id", sa.String(128), nullable=False, server_default=""),
    sa.Column("project_id", sa.String(128), nullable=False, server_default=""),
    sa.Index("ix_task_activities_task_id_timestamp", "task_id", "timestamp"),
)

agent_messages = sa.Table(
    "agent_messages",
    metadata,
    sa.Column("session_id", sa.String(255), primary_key=True),
    sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("message", JSONType, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

workspace_snapshots = sa.Table(
    "workspace_snapshots",
    metadata,
    sa.Column("session_id", sa.String(255), primary_key=True),
    sa.Column("base_commit", sa.String(64), nullable=False),
    sa.Column("patch", sa.LargeBinary(), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)
"""The latest uncommitted changes of each agent session, so a lost workspace can be rebuilt elsewhere."""
