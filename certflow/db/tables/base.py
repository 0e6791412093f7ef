"""The declarative base of certflow's tables: its own registry and MetaData.

certflow's tables do not live in SQLModel's process-wide ``SQLModel.metadata``
(other code in the same process may define SQLModel tables too). The naming
convention gives every constraint and index a stable name, which Alembic needs
to alter them later (SQLite batch mode recreates tables by name).
"""

from sqlalchemy import MetaData
from sqlalchemy.orm import registry
from sqlmodel import SQLModel

__all__ = ["NAMING_CONVENTION", "Base", "metadata"]

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Base(SQLModel, registry=registry(metadata=metadata)):
    """Subclass with ``table=True`` for a certflow table."""
