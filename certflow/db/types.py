"""Column types shared by the tables: aware UTC datetimes, enums stored by value, id strings.

* :class:`UTCDateTime` (SQLModel's own ``TypeDecorator``, re-exported): refuses
  naive datetimes, stores UTC (``TIMESTAMP WITH TIME ZONE`` on PostgreSQL,
  the UTC wall clock as text on SQLite) and returns aware UTC datetimes on both.
* :func:`enum_by_value`: a ``VARCHAR`` with a named ``CHECK`` constraint that
  stores the enum's *value* (``"nominated"``), not its name (``"NOMINATED"``);
  no native PostgreSQL enum type, so adding a state is a plain migration.
"""

from __future__ import annotations

from enum import Enum

import sqlalchemy as sa
from sqlmodel.sql.sqltypes import UTCDateTime

__all__ = ["ENUM_LENGTH", "ID", "ID_LENGTH", "UTCDateTime", "enum_by_value"]

ID_LENGTH = 64
ENUM_LENGTH = 32
"""Room for longer values later without widening the column."""
ID = sa.String(ID_LENGTH)
"""The domain's identifiers are strings (slugs such as ``P-17`` or UUIDs)."""


def enum_by_value(enum: type[Enum], name: str) -> sa.Enum:
    """A portable enum column type that stores ``member.value``; ``name`` names its CHECK constraint."""
    values = [member.value for member in enum]
    if max(len(v) for v in values) > ENUM_LENGTH:
        raise ValueError(f"{enum.__name__}: a value is longer than {ENUM_LENGTH} characters")
    return sa.Enum(
        enum, name=name, native_enum=False, create_constraint=True, validate_strings=True,
        values_callable=lambda _: values, length=ENUM_LENGTH,
    )
