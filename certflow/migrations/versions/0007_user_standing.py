"""A user's standing: a row version for optimistic locking and whether the account is active.

Revision ID: 0007
Revises: 0006

* ``app_user.version``: counts the edits of a user's role, scope and standing (optimistic locking,
  :mod:`certflow.db.versioning`); it is also part of a web session's credential stamp, so every
  such edit ends the person's sessions (:func:`certflow.services.accounts.credential_stamp`).
* ``app_user.active``: a deactivated person can neither log in nor use a token; nothing of theirs
  is deleted (the audit trail names them).

Both columns have a server default, so existing rows (and bulk inserts that leave them out) start
at version 1, active. Plain ``ADD COLUMN`` on both databases (no SQLite batch copy: the guard
triggers of 0001 stay untouched). Mirrored in certflow/db/tables/parties.py (AppUserRow);
tests/test_db_migrations.py compares.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("app_user", sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False))
    op.add_column("app_user", sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("app_user", recreate="never") as batch:
        batch.drop_column("active")
        batch.drop_column("version")
