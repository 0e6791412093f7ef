"""Who is acting: the user named with ``--as`` (or by a web session), read from the database."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lifecycle.entities import User
from ..lifecycle.machinery import Refused

if TYPE_CHECKING:
    from ..db.unit_of_work import UnitOfWork

__all__ = ["resolve"]


def resolve(uow: UnitOfWork, actor_id: str) -> User:
    """The user with id ``actor_id``; refused with a German message when there is none."""
    if not isinstance(actor_id, str) or not actor_id.strip():
        raise Refused("Bitte angeben, wer handelt (--as BENUTZER)")
    user = uow.users.find(actor_id.strip())
    if user is None:
        raise Refused(f"Unbekannter Benutzer '{actor_id}'")
    return user
