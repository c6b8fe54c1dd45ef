"""Create task_activities and agent_messages.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the column types: a revision must not change when schema.py evolves.
_JSON = sa.JSON().with_variant(JSONB(), "postgresql")
_BIGINT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "task_activities",
        sa.Column("id", _BIGINT_ID, primary_key=True, autoincrement=True),
        sa.Column("task_id", sa.String(128), nullable=False),
        sa.Column("activity_type", sa.String(32), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("details", _JSON, nullable=False),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column("workflow_id", sa.String(255), nullable=False, server_default=""),
        sa.Column("company_id", sa.String(128), nullable=False, server_default=""),
        sa.Column("project_id", sa.String(128), nullable=False, server_default=""),
    )
    op.create_index("ix_task_activities_task_id_timestamp", "task_activities", ["task_id", "timestamp"])
    op.create_table(
        "agent_messages",
        sa.Column("session_id", sa.String(255), primary_key=True),
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("message", _JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("agent_messages")
    op.drop_index("ix_task_activities_task_id_timestamp", table_name="task_activities")
    op.drop_table("task_activities")
