"""Changing a user's role, scope and standing through the application layer, on SQLite and PostgreSQL: only the
admin; the scope must fit the role (as when creating a user); the last active administrator and an administrator
themselves cannot be demoted or deactivated; optimistic locking on the user's version; one audit entry with who,
when, why and before → after; the person's sessions, tokens and open links end; a deactivated account neither
logs in nor uses a token or a link. Then the registers: users and Kitas a page at a time, searched in SQL, in a
constant number of statements whatever the number of rows."""

from __future__ import annotations

import pytest
from db_support import USERS, FixedClock, clock, db_url, engine, postgres_admin, seed, seeded  # noqa: F401
from sqlalchemy import event, text
from sqlalchemy.orm import Session

from certflow import services
from certflow.db import UnitOfWork
from certflow.db.repositories.reminders import ContactRepository
from certflow.lifecycle import Kita, Role, User
from certflow.messages import describe
from certflow.services import accounts, administration
from certflow.services.accounts import LoginStatus
from certflow.services.runner import Application, ErrorKind, UseCaseError
from certflow.settings import Settings

PASSWORD = "Lindenblüte-Sommerfest-7"


@pytest.fixture(autouse=True)
def cheap_hashing(monkeypatch):
    from argon2 import PasswordHasher

    monkeypatch.setattr(accounts, "_HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    monkeypatch.setattr(accounts, "_DUMMY_HASH", None)


@pytest.fixture
def app(seeded, clock):
    application = Application(Settings(database_url=str(seeded.url)), clock=clock, engine=seeded, after_commit=[])
    application.run(lambda uow: services.set_password(uow, "u-admin", "u-lead", PASSWORD))
    yield application
    application.close()


def _change(app, user_id="u-lead", actor="u-admin", **kw):
    kw.setdefault("reason", "Leitung wechselt die Einrichtung")
    return app.run(lambda uow: administration.change_user(uow, actor, user_id, **kw))


def _refused(app, **kw) -> UseCaseError:
    with pytest.raises(UseCaseError) as caught:
        _change(app, **kw)
    return caught.value


def _row(app, user_id):
    with Session(app.engine) as session:
        return session.execute(text("SELECT role, jugendamt_id, familienzentrum_id, traeger_id, active, version "
                                    "FROM app_user WHERE id = :id"), {"id": user_id}).one()


def _trail(app, user_id):
    return app.run(lambda uow: [e for e in uow.audit_log.entries_for("user", user_id) if e.action == "user.update"])


def _add_admin(app, user_id="u-admin-2"):
    app.run(lambda uow: services.add_user(uow, "u-admin", User(user_id, "Zweite Administration", Role.ADMIN),
                                          "Vertretung"))


# -- the change and its trail ---------------------------------------------------------------------------------------


def test_the_admin_changes_role_and_scope_with_one_audit_entry_before_and_after(app):
    result = _change(app, role="coordinator", jugendamt_id="ja-a", familienzentrum_id="", expected_version=1)
    assert result.event == "user.changed"
    assert result.facts["before"] == "Kita-Leitung (Familienzentrum Muster)"
    assert result.facts["after"] == "Koordination im Jugendamt (Jugendamt Musterkreis)"
    assert tuple(_row(app, "u-lead")) == ("coordinator", "ja-a", None, None, True, 2)
    [entry] = _trail(app, "u-lead")
    assert (entry.actor_id, entry.reason) == ("u-admin", "Leitung wechselt die Einrichtung")
    assert entry.payload["role"] == ["kita_lead", "coordinator"]
    assert entry.payload["jugendamt_id"] == [None, "ja-a"] and entry.payload["familienzentrum_id"] == ["fz-1", None]
    assert entry.payload["version"] == [1, 2] and entry.payload["sessions_ended"] is True
    assert "active" not in entry.payload  # unchanged fields are not listed


def test_none_keeps_what_still_fits_the_new_role(app):
    _change(app, user_id="u-aud", traeger_id="tr-1", jugendamt_id="ja-a")
    _change(app, user_id="u-aud", active=False)
    assert tuple(_row(app, "u-aud")) == ("auditor", "ja-a", None, "tr-1", False, 3)
    _change(app, user_id="u-aud", role="coordinator")  # the Träger does not fit a coordinator: cleared
    assert tuple(_row(app, "u-aud")) == ("coordinator", "ja-a", None, None, False, 4)


@pytest.mark.parametrize(("change", "field", "message"), [
    ({"role": "koenig"}, "role", "Bitte eine Rolle aus der Liste wählen."),
    ({"role": "coordinator", "familienzentrum_id": ""}, "jugendamt_id",
     "Die Rolle „Koordination im Jugendamt“ gehört zu einem Jugendamt: bitte wählen."),
    ({"familienzentrum_id": ""}, "familienzentrum_id", "gehört zu einem Familienzentrum: bitte wählen."),
    ({"traeger_id": "tr-1"}, "traeger_id", "Gehört nicht zur Rolle „Kita-Leitung“: bitte leer lassen."),
    ({"familienzentrum_id": "fz-x"}, "familienzentrum_id", "Familienzentrum fz-x gibt es nicht."),
    ({"reason": " "}, "reason", "Bitte einen Grund angeben"),
    ({"reason": "g" * 2001}, "reason", "Höchstens 2000 Zeichen (eingegeben: 2001)."),
    ({"expected_version": "zwei"}, "version", "Bitte die Seite neu laden."),
    ({"expected_version": "0"}, "version", "Bitte die Seite neu laden."),
    ({"familienzentrum_id": "fz-1", "active": True}, "form", "Nichts zu ändern"),
])
def test_bad_input_is_told_by_field_and_changes_nothing(app, change, field, message):
    before = (tuple(_row(app, "u-lead")), len(_trail(app, "u-lead")))
    error = _refused(app, **{"active": False, **change})
    assert error.kind is ErrorKind.INPUT
    assert any(p.path == (field,) and message in p.message for p in error.problems), error.problems
    assert (tuple(_row(app, "u-lead")), len(_trail(app, "u-lead"))) == before


def test_only_the_admin_may_and_an_unknown_user_is_refused(app):
    for actor in ("u-coord", "u-lead", "u-aud", "u-cert"):
        error = _refused(app, actor=actor, role="certifier", familienzentrum_id="")
        assert error.kind is ErrorKind.REFUSED and "Die Verwaltung ist der Rolle" in error.message
    assert "Benutzer niemand gibt es nicht" in _refused(app, user_id="niemand", role="certifier").message
    assert tuple(_row(app, "u-lead"))[-1] == 1 and _trail(app, "u-lead") == []


def test_a_stale_version_is_a_conflict_in_german(app):
    _change(app, active=False, expected_version=1)
    error = _refused(app, active=True, expected_version=1)
    assert error.kind is ErrorKind.CONFLICT
    assert error.message == ("Der Datensatz Benutzer u-lead wurde inzwischen von jemand anderem geändert "
                             "(Version 2 statt 1). Bitte neu laden.")
    assert tuple(_row(app, "u-lead"))[-2:] == (False, 2)


def test_a_stale_form_asking_for_what_is_stored_now_is_a_conflict_not_nothing_to_change(app):
    """Two admins open the same user; the first deactivates her, the second (stale form) asks for the same: the
    second learns that someone else changed the record (409), not that there is nothing to change (422)."""
    _change(app, active=False, expected_version=1)
    error = _refused(app, active=False, expected_version=1)
    assert error.kind is ErrorKind.CONFLICT and "(Version 2 statt 1)" in error.message


def test_an_admin_cannot_demote_or_deactivate_themselves_but_another_admin(app):
    self_ = _refused(app, user_id="u-admin", role="certifier")
    assert self_.kind is ErrorKind.REFUSED and "Sie können sich nicht selbst zur Rolle" in self_.message
    assert "Sie können sich nicht selbst deaktivieren" in _refused(app, user_id="u-admin", active=False).message
    _add_admin(app)
    _change(app, user_id="u-admin-2", active=False)
    refused = _refused(app, user_id="u-admin", actor="u-admin-2", role="certifier")
    assert "Der Zugang von Zweite Administration (u-admin-2) ist deaktiviert" in refused.message
    _change(app, user_id="u-admin-2", active=True)
    _change(app, user_id="u-admin", actor="u-admin-2", role="certifier")  # two active admins: one may go
    assert tuple(_row(app, "u-admin"))[0] == "certifier" and len(_trail(app, "u-admin")) == 1


def test_the_last_active_admin_is_never_demoted_or_deactivated(app, clock):
    """An acting admin is active, so the last one can only be lost by a race (two admins demoting each other at
    once): the rule locks the active admins' rows and counts again; here it is run as the loser of that race."""
    from certflow.lifecycle.machinery import Refused

    gone = User("u-gone", "Eben herabgestuft", Role.ADMIN)
    with UnitOfWork(app.engine, clock=clock) as uow:
        admin = uow.users.get("u-admin")
        for role, active in ((Role.CERTIFIER, True), (Role.ADMIN, False)):
            with pytest.raises(Refused, match="ist die letzte aktive Administration"):
                administration._admin_rule(uow, gone, admin, True, role, active)
        administration._admin_rule(uow, gone, admin, False, Role.CERTIFIER, True)  # was inactive: may change
        administration._admin_rule(uow, gone, uow.users.get("u-cert"), True, Role.AUDITOR, True)


# -- sessions, tokens, links end; a deactivated account is shut out ------------------------------------------------


def _login(app, password=PASSWORD, user="u-lead"):
    return app.run(lambda uow: services.verify_login(uow, user, password, address="10.0.0.9"))


def test_the_change_ends_sessions_tokens_and_links_and_a_deactivated_account_is_shut_out(app):
    stamp = _login(app).stamp
    assert app.run(lambda uow: services.session_user(uow, "u-lead", stamp)).id == "u-lead"
    token = app.run(lambda uow: services.create_token(uow, "u-admin", "u-lead", label="Laptop")).token
    app.run(lambda uow: ContactRepository(uow.session).set("u-lead", now=uow.now(), email="lead@example.org"))
    app.run(lambda uow: services.issue_one_time_link(uow, "u-admin", "u-lead", "reset", base_url="http://x"))
    result = _change(app, active=False)
    assert result.facts["tokens"] == 1 and "1 Zugangsschlüssel widerrufen" in describe(result)
    [entry] = _trail(app, "u-lead")
    assert entry.payload["tokens_revoked"] == 1 and entry.payload["links_revoked"] == 1
    assert entry.payload["active"] == [True, False]
    assert app.run(lambda uow: services.session_user(uow, "u-lead", stamp)) is None
    with pytest.raises(UseCaseError, match="ungültig, abgelaufen oder widerrufen"):
        app.run(lambda uow: services.authenticate_token(uow, token))
    denied = _login(app)
    assert denied.status is LoginStatus.INACTIVE and "deaktiviert" in denied.message
    assert _login(app, "falsch-falsch-falsch").status is LoginStatus.WRONG  # the wrong password says nothing more
    with pytest.raises(UseCaseError, match="ist deaktiviert"):
        app.run(lambda uow: services.create_token(uow, "u-admin", "u-lead", label="Neu"))
    with pytest.raises(UseCaseError, match="ist deaktiviert"):
        app.run(lambda uow: services.issue_one_time_link(uow, "u-admin", "u-lead", "reset", base_url="http://x"))
    _change(app, active=True, reason="zurück")
    assert _login(app).ok


def test_a_scope_change_ends_the_session_too_and_a_new_login_works(app):
    stamp = _login(app).stamp
    _change(app, role="auditor", familienzentrum_id="")
    assert app.run(lambda uow: services.session_user(uow, "u-lead", stamp)) is None
    fresh = _login(app)
    assert fresh.ok and app.run(lambda uow: services.session_user(uow, "u-lead", fresh.stamp)).role is Role.AUDITOR


# -- the registers ---------------------------------------------------------------------------------------------------


def _counting(app):
    statements: list[str] = []

    def note(_connection, _cursor, statement, *_rest):
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)
    event.listen(app.engine, "before_cursor_execute", note)
    return statements


def _many_users_and_kitas(app, clock, n):
    with UnitOfWork(app.engine, clock=clock) as uow:
        for i in range(n):
            uow.users.add(User(f"lead-{i:03d}", f"Leitung {i:03d}", Role.KITA_LEAD, familienzentrum_id="fz-1"),
                          actor_id="u-admin", reason="Viele")
            uow.kitas.add(Kita(f"kx{i:03d}", f"Kita {i:03d}", "tr-1", "ja-a", "Weg 1", "12345",
                               "Bergheim" if i % 2 else "Talheim", 51.0, 7.0), actor_id="u-admin", reason="Viele")


@pytest.mark.parametrize("n", [5, 120])
def test_a_page_of_users_or_kitas_takes_the_same_few_statements_whatever_the_size(app, clock, n):
    _many_users_and_kitas(app, clock, n)
    statements = _counting(app)
    people = app.run(lambda uow: administration.accounts(uow, "u-admin", page=2, size=10))
    assert len(statements) == 2, statements  # the admin, the page with its count
    everyone = sorted([*(u.id for u in USERS.values()), *(f"lead-{i:03d}" for i in range(n))])
    assert people.total == n + 6 and people.number == 2
    assert [a.user.id for a in people.entries] == everyone[10:20]
    statements.clear()
    found = app.run(lambda uow: administration.kitas(uow, "u-admin", search="BERG", size=10))
    assert len(statements) == 2 and found.total == n // 2 and found.pages == max(1, -(-(n // 2) // 10))
    assert all(e.kita.city == "Bergheim" and e.traeger_name == "Musterträger e. V." for e in found.entries)
    statements.clear()
    app.run(lambda uow: administration.choices(uow, "u-admin"))
    assert len(statements) == 2


def test_search_and_filters_and_a_page_past_the_end(app, clock):
    _many_users_and_kitas(app, clock, 30)
    _change(app, user_id="lead-007", active=False)
    inactive = app.run(lambda uow: administration.accounts(uow, "u-admin", status="deaktiviert"))
    assert [a.user.id for a in inactive.entries] == ["lead-007"] and not inactive.entries[0].active
    assert inactive.filters == (("status", "deaktiviert"),)
    coordinators = app.run(lambda uow: administration.accounts(uow, "u-admin", role="coordinator"))
    assert [a.user.id for a in coordinators.entries] == ["u-coord"]
    assert coordinators.entries[0].tied_to == "Jugendamt: Jugendamt Musterkreis"
    literal = app.run(lambda uow: administration.accounts(uow, "u-admin", search="%"))
    assert literal.total == 0  # % is searched for, not a wildcard
    last = app.run(lambda uow: administration.accounts(uow, "u-admin", search="lead-0", page=99, size=7))
    assert (last.number, last.pages, last.total, len(last.entries)) == (5, 5, 30, 2)
    assert app.run(lambda uow: administration.accounts(uow, "u-admin", page="x")).number == 1
    with pytest.raises(UseCaseError, match="Die Verwaltung ist der Rolle"):
        app.run(lambda uow: administration.accounts(uow, "u-lead"))
    with pytest.raises(UseCaseError, match="Die Verwaltung ist der Rolle"):
        app.run(lambda uow: administration.kitas(uow, "u-coord"))
