"""Terminal views of the lifecycle: the overview of Familienzentren, a procedure's history, the users.

Tables fit 110 columns: long cells fold onto a second line instead of widening the table.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from rich import box
from rich.table import Table

from ..calendar import format_date_de
from ..lifecycle.entities import User
from ..lifecycle.machinery import BERLIN
from ..services.queries import FORM_LABELS, KIND_LABELS, HistoryRow, OverviewRow

__all__ = ["history_table", "overview_table", "users_table", "validity_bar"]

_PREFIX = "Familienzentrum "


def _table(title: str | None) -> Table:
    """A plain table: a rule under the header, two blanks between columns, no outer edge."""
    return Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, collapse_padding=True,
                 pad_edge=False)


def validity_bar(issued: date | None, valid_until: date | None, today: date, width: int = 10) -> str:
    """How much of the seal's term has passed: ``███████░░░`` (full: lapsed); ``–`` without a seal."""
    if issued is None or valid_until is None:
        return "–"
    total = max((valid_until - issued).days, 1)
    passed = min(max((today - issued).days, 0), total)
    filled = round(width * passed / total)
    return "█" * filled + "░" * (width - filled)


def _short(name: str) -> str:
    return name[len(_PREFIX):] if name.startswith(_PREFIX) else name


_SEAL_STATES = {"valid": "gültig", "recertification_due": "Re-Zert. fällig", "renewed": "erneuert",
                "expired": "abgelaufen", "revoked": "widerrufen"}


def overview_table(rows: Iterable[OverviewRow], today: date, title: str | None = None) -> Table:
    """One row per Familienzentrum; 110 columns wide at most (cells wrap onto up to three lines)."""
    table = _table(title)
    table.add_column("Familienzentrum", width=18, overflow="fold")
    table.add_column("Jugendamt", width=12)
    table.add_column("Verfahren", width=12, overflow="fold")
    table.add_column("Zustand", width=13)
    table.add_column("Nächste Frist", width=17)
    table.add_column("Gütesiegel", width=14, overflow="fold")
    table.add_column("Gültigkeit", width=10, no_wrap=True)
    for row in rows:
        name = f"{_short(row.name)}\n{row.familienzentrum_id}"
        jugendamt = row.jugendamt.removeprefix("Jugendamt ").removeprefix("der ")
        form = FORM_LABELS[row.form] + (f" ({row.members})" if row.members > 1 else "")
        procedure = (f"{row.procedure_id}\n{KIND_LABELS[row.procedure_kind]}, {form}" if row.procedure_id
                     else f"–\n{form}")
        due = row.next_deadline
        deadline = "–"
        if due is not None:
            deadline = f"{format_date_de(due.due)}{' (!)' if due.due < today else ''}\n{due.label}"
        if row.certificate_number is None:
            seal, bar = "–", "–"
        else:
            state = _SEAL_STATES.get(row.certificate_state.value, row.certificate_state.value)
            seal = f"{row.certificate_number}\nbis {format_date_de(row.seal_valid_until)}\n{state}"
            bar = validity_bar(row.seal_issued, row.seal_valid_until, today)
        table.add_row(name, jugendamt, procedure, row.state_label, deadline, seal, bar)
    return table


def history_table(rows: Iterable[HistoryRow], title: str | None = None) -> Table:
    table = _table(title)
    table.add_column("Wann", width=10)
    table.add_column("Wer", width=21, overflow="fold")
    table.add_column("Was", width=23, overflow="fold")
    table.add_column("Zustand", width=22, overflow="fold")
    table.add_column("Warum", min_width=16, overflow="fold")
    for row in rows:
        when = row.at.astimezone(BERLIN).strftime("%d.%m.%Y\n%H:%M")
        who = f"{row.actor_name}\n{row.actor_role}" if row.actor_role else row.actor_name
        if row.to_state is None:
            states = ""
        elif row.from_state is None:
            states = f"→ {row.to_state}"
        elif row.from_state == row.to_state:
            states = row.to_state
        else:
            states = f"{row.from_state} → {row.to_state}"
        table.add_row(when, who, row.what, states, row.reason)
    return table


def users_table(users: Iterable[User], title: str | None = None) -> Table:
    table = _table(title)
    table.add_column("--as", no_wrap=True)
    table.add_column("Name", overflow="fold")
    table.add_column("Rolle", overflow="fold")
    table.add_column("Zuständig für", overflow="fold")
    for user in users:
        scope = user.familienzentrum_id or user.jugendamt_id or ("alle Verfahren" if user.role.value in (
            "certifier", "admin") else "zugewiesene Verfahren" if user.role.value == "auditor" else "")
        table.add_row(user.id, user.name, user.role.label, scope)
    return table
