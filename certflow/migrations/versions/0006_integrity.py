"""Integrity under concurrency: one open procedure per Familienzentrum; ids from a counter.

Revision ID: 0006
Revises: 0005

* ``uq_procedure_open_familienzentrum``: a partial unique index on ``procedure.familienzentrum_id``
  over the open procedures (state not certified, not_certified, withdrawn). A database that already
  holds two open procedures of one Familienzentrum (the race this index closes) is not migrated:
  the upgrade stops and names them, to be resolved (one withdrawn) first.
* ``id_counter``: one row per id prefix (``V-2025-``, ``FZ-2026-``), created on first use: the lock
  a transaction holds while it counts up the next id (and the last number handed out).

Both are in the SQLModel tables (certflow/db/tables/procedures.py); tests/test_db_migrations.py
compares. No SQLite batch operation: the guard triggers of 0001 stay untouched.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN_INDEX = "uq_procedure_open_familienzentrum"
OPEN = "state NOT IN ('certified', 'not_certified', 'withdrawn')"


def _refuse_duplicates() -> None:
    rows = op.get_bind().execute(sa.text(
        f"SELECT familienzentrum_id, id FROM procedure WHERE {OPEN} AND familienzentrum_id IN ("
        f"SELECT familienzentrum_id FROM procedure WHERE {OPEN} GROUP BY familienzentrum_id HAVING count(*) > 1) "
        "ORDER BY familienzentrum_id, id")).all()
    if rows:
        found: dict[str, list[str]] = {}
        for fz_id, procedure_id in rows:
            found.setdefault(fz_id, []).append(procedure_id)
        listed = "; ".join(f"{fz_id}: {', '.join(ids)}" for fz_id, ids in found.items())
        raise sa.exc.SQLAlchemyError(f"Migration 0006 nicht möglich: mehrere offene Verfahren je Familienzentrum "
                                     f"({listed}). Bitte zuerst alle bis auf eines zurückziehen.")


def upgrade() -> None:
    _refuse_duplicates()
    op.create_index(OPEN_INDEX, "procedure", ["familienzentrum_id"], unique=True,
                    sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN))
    op.create_table(
        "id_counter",
        sa.Column("prefix", sa.String(length=64), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.CheckConstraint("last_number >= 0", name=op.f("ck_id_counter_last_number_not_negative")),
        sa.PrimaryKeyConstraint("prefix", name=op.f("pk_id_counter")),
    )


def downgrade() -> None:
    op.drop_table("id_counter")
    op.drop_index(OPEN_INDEX, table_name="procedure")
