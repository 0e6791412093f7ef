"""Accounts: password credentials, API tokens, one-time links and login attempts.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-08

Written by hand in the style of 0002 (plain SQLAlchemy types, enums as VARCHAR + CHECK
holding the values, names from the naming convention) and checked against the SQLModel
tables in certflow/db/tables/accounts.py by tests/test_db_migrations.py (migrated schema
== metadata). New tables only: nothing existing changes, so SQLite needs no batch copy.
Secrets are never stored: passwords as argon2id hashes, tokens and links as SHA-256.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(length=64)
UTC = sa.DateTime(timezone=True)


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def _index(table: str, *columns: str) -> None:
    op.create_index(op.f(f"ix_{table}_{'_'.join(columns)}"), table, list(columns), unique=False)


def _user_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], name=op.f(f"fk_{table}_user_id_app_user"))


def upgrade() -> None:
    op.create_table(
        "password_credential",
        sa.Column("user_id", ID, nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("set_at", UTC, nullable=False),
        _user_fk("password_credential"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_password_credential")),
    )

    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("scope", _enum("scope", "read", "write"), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("expires_at", UTC, nullable=True),
        sa.Column("revoked_at", UTC, nullable=True),
        sa.Column("last_used_at", UTC, nullable=True),
        _user_fk("api_token"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_token_token_hash")),
    )
    _index("api_token", "user_id")

    op.create_table(
        "one_time_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("purpose", _enum("purpose", "first_login", "reset"), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("expires_at", UTC, nullable=False),
        sa.Column("used_at", UTC, nullable=True),
        sa.Column("revoked_at", UTC, nullable=True),
        _user_fk("one_time_link"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_one_time_link")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_one_time_link_token_hash")),
    )
    _index("one_time_link", "user_id")

    op.create_table(
        "login_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.Column("login", sa.String(length=200), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("outcome", _enum("outcome", "success", "failure", "throttled"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempt")),
    )
    _index("login_attempt", "login", "at")
    _index("login_attempt", "address", "at")


def downgrade() -> None:
    for table in ("login_attempt", "one_time_link", "api_token", "password_credential"):
        op.drop_table(table)
