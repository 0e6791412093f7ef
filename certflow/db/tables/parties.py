"""Who takes part: Jugendämter, Träger, Kitas, Familienzentren with their members, users.

Kita and Familienzentrum rows can be edited by two people at once, so they
carry a ``version`` for optimistic locking (see :mod:`certflow.db.versioning`).
"""

from datetime import date

import sqlalchemy as sa
from sqlmodel import Field

from ...catalogue.model import Form
from ...lifecycle.entities import Role
from ..types import ID, enum_by_value
from .base import Base

__all__ = ["AppUserRow", "FamilienzentrumMemberRow", "FamilienzentrumRow", "JugendamtRow", "KitaRow", "TraegerRow"]


class JugendamtRow(Base, table=True):
    __tablename__ = "jugendamt"

    id: str = Field(primary_key=True, sa_type=ID)
    name: str = Field(sa_type=sa.String(200))


class TraegerRow(Base, table=True):
    __tablename__ = "traeger"

    id: str = Field(primary_key=True, sa_type=ID)
    name: str = Field(sa_type=sa.String(200))


class KitaRow(Base, table=True):
    __tablename__ = "kita"
    __table_args__ = (
        sa.CheckConstraint("lat BETWEEN -90 AND 90 AND lon BETWEEN -180 AND 180", name="coordinates"),
        sa.CheckConstraint("version >= 1", name="version_positive"),
    )

    id: str = Field(primary_key=True, sa_type=ID)
    name: str = Field(sa_type=sa.String(200))
    traeger_id: str = Field(foreign_key="traeger.id", index=True, sa_type=ID)
    jugendamt_id: str = Field(foreign_key="jugendamt.id", index=True, sa_type=ID)
    street: str = Field(sa_type=sa.String(200))
    postcode: str = Field(sa_type=sa.String(10))
    city: str = Field(sa_type=sa.String(100))
    lat: float = Field(sa_type=sa.Float)
    lon: float = Field(sa_type=sa.Float)
    version: int = Field(default=1, sa_type=sa.Integer)


class FamilienzentrumRow(Base, table=True):
    __tablename__ = "familienzentrum"
    __table_args__ = (sa.CheckConstraint("version >= 1", name="version_positive"),)

    id: str = Field(primary_key=True, sa_type=ID)
    name: str = Field(sa_type=sa.String(200))
    form: Form = Field(sa_type=enum_by_value(Form, "form"))
    jugendamt_id: str = Field(foreign_key="jugendamt.id", index=True, sa_type=ID)
    zuschussempfaenger_id: str | None = Field(default=None, foreign_key="kita.id", sa_type=ID)
    certificate_number: str | None = Field(default=None, sa_type=sa.String(64))
    radius_exception_reason: str | None = Field(default=None, sa_type=sa.Text)
    version: int = Field(default=1, sa_type=sa.Integer)


class FamilienzentrumMemberRow(Base, table=True):
    """A Kita's membership in a Familienzentrum from ``joined_on`` until ``left_on`` (open: current).

    Rows are never deleted: a leaving member gets ``left_on``; history stays.
    The current members, in joining order, are the rows with ``left_on IS NULL``.
    """

    __tablename__ = "familienzentrum_member"
    __table_args__ = (sa.CheckConstraint("left_on IS NULL OR left_on >= joined_on", name="left_after_joined"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=sa.Integer)
    familienzentrum_id: str = Field(foreign_key="familienzentrum.id", index=True, sa_type=ID)
    kita_id: str = Field(foreign_key="kita.id", index=True, sa_type=ID)
    joined_on: date = Field(sa_type=sa.Date)
    left_on: date | None = Field(default=None, sa_type=sa.Date)


class AppUserRow(Base, table=True):
    """A person using the system (``user`` is a reserved word in PostgreSQL).

    ``version`` counts the edits of role, scope and standing (optimistic locking; a web session's
    credential stamp includes it, so an edit ends the person's sessions); ``active`` False: the
    account can neither log in nor use a token (migration 0007).
    """

    __tablename__ = "app_user"

    id: str = Field(primary_key=True, sa_type=ID)
    name: str = Field(sa_type=sa.String(200))
    role: Role = Field(sa_type=enum_by_value(Role, "role"))
    jugendamt_id: str | None = Field(default=None, foreign_key="jugendamt.id", sa_type=ID)
    familienzentrum_id: str | None = Field(default=None, foreign_key="familienzentrum.id", sa_type=ID)
    traeger_id: str | None = Field(default=None, foreign_key="traeger.id", sa_type=ID)
    version: int = Field(default=1, sa_type=sa.Integer, sa_column_kwargs={"server_default": sa.text("1")})
    active: bool = Field(default=True, sa_type=sa.Boolean, sa_column_kwargs={"server_default": sa.true()})
