"""Reminders: the reminder table, the mail outbox, the in-app inbox and each person's contact choice.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

Written by hand in the style of 0001 (plain SQLAlchemy types, enums as VARCHAR +
CHECK holding the values, names from the naming convention) and checked against
the SQLModel tables in certflow/db/tables/reminders.py by
tests/test_db_migrations.py (migrated schema == metadata). See docs/reminders.md.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(length=64)
UTC = sa.DateTime(timezone=True)
MODES = ("immediate", "daily", "weekly")


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def _index(table: str, *columns: str) -> None:
    op.create_index(op.f(f"ix_{table}_{'_'.join(columns)}"), table, list(columns), unique=False)


def upgrade() -> None:
    op.create_table(
        "reminder",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("event_date", sa.Date(), nullable=False),
        sa.Column("send_until", sa.Date(), nullable=True),
        sa.Column("familienzentrum_id", ID, nullable=True),
        sa.Column("jugendamt_id", ID, nullable=True),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status", _enum("status", "planned", "queued", "skipped", "dropped"), nullable=False),
        sa.Column("queued_at", UTC, nullable=True),
        sa.Column("updated_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder")),
        sa.UniqueConstraint("key", name=op.f("uq_reminder_key")),
    )
    _index("reminder", "due", "status")
    _index("reminder", "familienzentrum_id")
    _index("reminder", "jugendamt_id")

    op.create_table(
        "outbox_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("mode", _enum("mode", *MODES), nullable=False),
        sa.Column("reminder_keys", sa.JSON(), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("status", _enum("status", "pending", "sending", "sent", "failed"), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTC, nullable=False),
        sa.Column("lease_until", UTC, nullable=True),
        sa.Column("claim_token", sa.String(length=32), nullable=True),
        sa.Column("handed_over_at", UTC, nullable=True),
        sa.Column("uncertain", sa.Boolean(), nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("sent_at", UTC, nullable=True),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_outbox_item_attempts_not_negative")),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], name=op.f("fk_outbox_item_user_id_app_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_item")),
        sa.UniqueConstraint("key", name=op.f("uq_outbox_item_key")),
    )
    _index("outbox_item", "status", "next_attempt_at")
    _index("outbox_item", "user_id")

    op.create_table(
        "inbox_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("reminder_key", sa.Text(), nullable=False),
        sa.Column("kind", _enum("kind", "reminder", "notice"), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("read_at", UTC, nullable=True),
        sa.Column("delivery_key", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], name=op.f("fk_inbox_message_user_id_app_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_message")),
        sa.UniqueConstraint("user_id", "reminder_key", name=op.f("uq_inbox_message_user_id_reminder_key")),
    )
    _index("inbox_message", "delivery_key")

    op.create_table(
        "user_contact",
        sa.Column("user_id", ID, nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("preference", _enum("preference", *MODES), nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], name=op.f("fk_user_contact_user_id_app_user")),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_user_contact")),
    )


def downgrade() -> None:
    for table in ("user_contact", "inbox_message", "outbox_item", "reminder"):
        op.drop_table(table)
