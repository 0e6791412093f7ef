"""The audit packet's SHA-256, stored with the auditor's sign-off.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02

``audit_visit.packet_sha256`` holds the SHA-256 of the audit packet (PDF) the auditor
signed off; ``certflow packet verify`` compares a file with it. The column is set in the
same UPDATE that sets ``signed_off_at``, so the freeze triggers of 0001 (which refuse any
UPDATE once ``signed_off_at`` is set) keep it unchanged from then on. A plain
``ALTER TABLE ... ADD COLUMN`` on both databases: SQLite keeps the table and its triggers
(no batch copy). Visits signed off before this revision keep NULL: no packet was hashed.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("audit_visit", sa.Column("packet_sha256", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_visit", recreate="never") as batch:
        batch.drop_column("packet_sha256")
