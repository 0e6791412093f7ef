"""The dialogue per criterion and the Qualitätsprofil's feedback text.

Revision ID: 0005
Revises: 0004

New tables only (see certflow/db/tables/dialogue.py); checked against the SQLModel tables by
tests/test_db_migrations.py.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(length=64)
UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "criterion_comment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("procedure_id", ID, nullable=False),
        sa.Column("criterion_id", sa.String(length=32), nullable=False),
        sa.Column("author_id", ID, nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["procedure_id"], ["procedure.id"], name=op.f("fk_criterion_comment_procedure_id_procedure")),
        sa.ForeignKeyConstraint(["author_id"], ["app_user.id"], name=op.f("fk_criterion_comment_author_id_app_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_criterion_comment")),
    )
    op.create_index(op.f("ix_criterion_comment_procedure_id"), "criterion_comment", ["procedure_id"], unique=False)
    op.create_table(
        "qualitaetsprofil_feedback",
        sa.Column("procedure_id", ID, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author_id", ID, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["procedure_id"], ["procedure.id"],
                                name=op.f("fk_qualitaetsprofil_feedback_procedure_id_procedure")),
        sa.ForeignKeyConstraint(["author_id"], ["app_user.id"],
                                name=op.f("fk_qualitaetsprofil_feedback_author_id_app_user")),
        sa.PrimaryKeyConstraint("procedure_id", name=op.f("pk_qualitaetsprofil_feedback")),
    )


def downgrade() -> None:
    op.drop_table("qualitaetsprofil_feedback")
    op.drop_index(op.f("ix_criterion_comment_procedure_id"), table_name="criterion_comment")
    op.drop_table("criterion_comment")
