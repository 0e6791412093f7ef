"""Accounts through the application layer, on SQLite and PostgreSQL: password hashing and policy, the
login throttle (ten wrong passwords), one-time links (single use, expiring, sent through the outbox),
API tokens, and an audit trail that records every change of a credential without a secret."""

from __future__ import annotations

import json
import re

import pytest
from db_support import FixedClock, clock, db_url, engine, postgres_admin, seed, seeded  # noqa: F401
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from certflow import services
from certflow.db import entries
from certflow.db.repositories.reminders import ContactRepository, InboxRepository, OutboxRepository
from certflow.db.tables import OutboxItemRow
from certflow.services import accounts
from certflow.services.accounts import LinkPurpose, LoginStatus, TokenScope
from certflow.services.runner import Application, ErrorKind, UseCaseError
from certflow.settings import Settings

GOOD = "Lindenblüte-Sommerfest-7"
BASE = "http://certflow.test"


@pytest.fixture
def app(seeded, clock):
    application = Application(Settings(database_url=str(seeded.url)), clock=clock, engine=seeded, after_commit=[])
    yield application
    application.close()


def _login(app, login, password, address="10.0.0.1"):
    return app.run(lambda uow: services.verify_login(uow, login, password, address=address))


def _set(app, actor, user, password, **kw):
    return app.run(lambda uow: services.set_password(uow, actor, user, password, **kw))


def _log(app, user_id):
    with Session(app.engine) as session:
        return entries(session, "account", user_id)


def _email(app, user_id, address):
    def action(uow):
        ContactRepository(uow.session).set(user_id, now=uow.now(), email=address)
    app.run(action)


# -- passwords ------------------------------------------------------------------------------------------


def test_a_password_is_stored_as_an_argon2id_hash_and_logs_in(app):
    _set(app, "u-admin", "u-lead", GOOD)
    with Session(app.engine) as session:
        stored = session.execute(text("SELECT password_hash FROM password_credential WHERE user_id = 'u-lead'")).scalar()
    assert stored.startswith("$argon2id$") and GOOD not in stored
    outcome = _login(app, "u-lead", GOOD)
    assert outcome.ok and outcome.user.id == "u-lead" and outcome.stamp
    assert _login(app, "u-lead", GOOD + "x").status is LoginStatus.WRONG
    (entry,) = _log(app, "u-lead")
    assert (entry.action, entry.actor_id) == ("account.password_set", "u-admin")
    assert "Administration" in entry.reason and GOOD not in json.dumps(entry.payload)


@pytest.mark.parametrize("password, expected", [
    ("kurz1!", "mindestens 10 Zeichen"),
    ("Passwort123", "zu bekannt"),
    ("aaaaaaaaaaaa", "zu wenigen verschiedenen Zeichen"),
    ("mein-u-lead-passwort", "Benutzernamen"),
    (" Leerzeichen vorne 1", "Leerzeichen"),
])
def test_the_policy_refuses_weak_passwords_in_german_and_stores_nothing(app, password, expected):
    with pytest.raises(UseCaseError) as exc:
        _set(app, "u-admin", "u-lead", password)
    assert exc.value.kind is ErrorKind.INPUT
    assert any(expected in p.message for p in exc.value.problems), exc.value.problems
    assert _login(app, "u-lead", password).status is LoginStatus.WRONG
    assert _log(app, "u-lead") == []


def test_who_may_set_a_password(app):
    with pytest.raises(UseCaseError, match="nur für sich selbst oder durch die Administration"):
        _set(app, "u-coord", "u-lead", GOOD)
    _set(app, "u-lead", "u-lead", GOOD)  # first password: nothing to confirm
    with pytest.raises(UseCaseError, match="bisherige Passwort stimmt nicht"):
        _set(app, "u-lead", "u-lead", "Neues-Passwort-2026", current_password="falsch-falsch")
    stamp = _login(app, "u-lead", GOOD).stamp
    _set(app, "u-lead", "u-lead", "Neues-Passwort-2026", current_password=GOOD)
    assert _login(app, "u-lead", "Neues-Passwort-2026").ok
    # the old session stamp no longer names a valid session
    assert app.run(lambda uow: services.session_user(uow, "u-lead", stamp)) is None
    fresh = _login(app, "u-lead", "Neues-Passwort-2026").stamp
    assert app.run(lambda uow: services.session_user(uow, "u-lead", fresh)).id == "u-lead"
    assert [e.actor_id for e in _log(app, "u-lead")] == ["u-lead", "u-lead"]


# -- throttling -----------------------------------------------------------------------------------------


def test_ten_wrong_passwords_throttle_the_account_until_the_window_passes(app, clock):
    _set(app, "u-lead", "u-lead", GOOD)
    outcomes = []
    for _ in range(10):
        outcomes.append(_login(app, "u-lead", "falsches-passwort").status)
        clock.advance(seconds=10)
    assert outcomes == [LoginStatus.WRONG] * 5 + [LoginStatus.THROTTLED] * 5
    blocked = _login(app, "u-lead", GOOD)  # even the right password is refused, unchecked
    assert blocked.status is LoginStatus.THROTTLED and blocked.user is None
    assert "Zu viele fehlgeschlagene Anmeldeversuche" in blocked.message and "Uhr" in blocked.message
    assert _login(app, "u-lead", GOOD, address="10.9.9.9").status is LoginStatus.THROTTLED  # per account
    clock.at = blocked.retry_after
    assert _login(app, "u-lead", GOOD).ok
    with Session(app.engine) as session:
        counts = dict(session.execute(text(
            "SELECT outcome, COUNT(*) FROM login_attempt WHERE login = 'u-lead' GROUP BY outcome")).all())
    assert counts == {"failure": 5, "throttled": 7, "success": 1}


def test_a_success_resets_the_count_of_the_account(app, clock):
    _set(app, "u-lead", "u-lead", GOOD)
    for _ in range(4):
        assert _login(app, "u-lead", "falsch-falsch").status is LoginStatus.WRONG
    assert _login(app, "u-lead", GOOD).ok
    for _ in range(4):
        assert _login(app, "u-lead", "falsch-falsch").status is LoginStatus.WRONG
    assert _login(app, "u-lead", GOOD).ok


def test_unknown_names_are_told_like_wrong_passwords_and_are_throttled_too(app):
    statuses = [_login(app, "niemand", "irgendwas-123").status for _ in range(6)]
    assert statuses == [LoginStatus.WRONG] * 5 + [LoginStatus.THROTTLED]
    assert _login(app, "u-aud", "kein-passwort-gesetzt").status is LoginStatus.WRONG  # no password yet


def test_twenty_failures_from_one_address_throttle_that_address(app):
    _set(app, "u-admin", "u-cert", GOOD)
    for i in range(20):
        assert _login(app, f"name-{i}", "falsch-falsch", address="192.0.2.7").status is LoginStatus.WRONG
    assert _login(app, "u-cert", GOOD, address="192.0.2.7").status is LoginStatus.THROTTLED
    assert _login(app, "u-cert", GOOD, address="192.0.2.8").ok


# -- one-time links -------------------------------------------------------------------------------------


def _issue(app, user="u-lead", purpose=LinkPurpose.FIRST_LOGIN, actor="u-admin"):
    return app.run(lambda uow: services.issue_one_time_link(uow, actor, user, purpose, base_url=BASE))


def _mailed_link(app, user="u-lead") -> str:
    with Session(app.engine) as session:
        messages = InboxRepository(session).of_user(user)
    urls = re.findall(rf"{BASE}/zugang/(\S+)", messages[0].body)
    assert urls, messages[0].body
    return urls[0]


def test_a_first_login_link_goes_through_outbox_and_inbox_and_works_once(app):
    _email(app, "u-lead", "leitung@example.org")
    issued = _issue(app)
    assert (issued.user_id, issued.purpose, issued.email) == ("u-lead", LinkPurpose.FIRST_LOGIN, "leitung@example.org")
    with Session(app.engine) as session:
        item = session.execute(select(OutboxItemRow).where(OutboxItemRow.key == issued.outbox_key)).scalar_one()
        assert (item.user_id, item.status.value, item.mode.value) == ("u-lead", "pending", "immediate")
        message = InboxRepository(session).of_user("u-lead")[0]
        assert message.subject == "Ihr Zugang zu certflow" and message.delivery_key == issued.outbox_key
        hashes = session.execute(text("SELECT token_hash FROM one_time_link")).scalars().all()
    secret = _mailed_link(app)
    assert secret not in hashes and len(hashes) == 1
    info = app.run(lambda uow: services.check_link(uow, secret))
    assert (info.user_id, info.purpose) == ("u-lead", LinkPurpose.FIRST_LOGIN)
    outcome = app.run(lambda uow: services.redeem_link(uow, secret, GOOD))
    assert outcome.ok and outcome.user.id == "u-lead"
    assert _login(app, "u-lead", GOOD).ok
    with pytest.raises(UseCaseError, match="ungültig, wurde schon benutzt oder ist abgelaufen"):
        app.run(lambda uow: services.redeem_link(uow, secret, "Noch-ein-Passwort-9"))
    actions = [(e.action, e.actor_id) for e in _log(app, "u-lead")]
    assert actions == [("account.link_issue", "u-admin"), ("account.password_set_by_link", "u-lead")]
    assert all(secret not in json.dumps(e.payload) for e in _log(app, "u-lead"))


def test_a_link_expires_and_a_newer_one_replaces_it(app, clock):
    _email(app, "u-lead", "leitung@example.org")
    _issue(app, purpose=LinkPurpose.RESET)
    first = _mailed_link(app)
    clock.advance(hours=1)
    _issue(app, purpose=LinkPurpose.RESET)
    with Session(app.engine) as session:
        newest = InboxRepository(session).of_user("u-lead")[0].body
    second = re.findall(rf"{BASE}/zugang/(\S+)", newest)[0]
    with pytest.raises(UseCaseError, match="ungültig"):
        app.run(lambda uow: services.check_link(uow, first))  # replaced
    clock.advance(hours=2, seconds=1)  # a reset link lives two hours
    with pytest.raises(UseCaseError, match="abgelaufen"):
        app.run(lambda uow: services.redeem_link(uow, second, GOOD))
    assert _login(app, "u-lead", GOOD).status is LoginStatus.WRONG


def test_a_weak_password_does_not_spend_the_link(app):
    _email(app, "u-lead", "leitung@example.org")
    _issue(app)
    secret = _mailed_link(app)
    with pytest.raises(UseCaseError) as exc:
        app.run(lambda uow: services.redeem_link(uow, secret, "kurz"))
    assert exc.value.kind is ErrorKind.INPUT
    assert app.run(lambda uow: services.redeem_link(uow, secret, GOOD)).ok


def test_links_need_an_address_and_the_right_actor(app):
    with pytest.raises(UseCaseError, match="keine E-Mail-Adresse hinterlegt"):
        _issue(app)
    _email(app, "u-lead", "leitung@example.org")
    with pytest.raises(UseCaseError, match="nur für sich selbst oder durch die Administration"):
        _issue(app, actor="u-coord")


def test_an_anonymous_reset_request_reveals_nothing_and_is_not_repeated_at_once(app, clock):
    _email(app, "u-lead", "leitung@example.org")

    def ask(login):
        return app.run(lambda uow: services.request_password_reset(uow, login, base_url=BASE, address="10.0.0.5"))

    assert ask("niemand") is None and ask("u-aud") is None  # unknown; no address
    assert ask("u-lead") is None
    assert ask("u-lead") is None  # within five minutes: no second mail
    with Session(app.engine) as session:
        keys = [row.key for row in OutboxRepository(session).listing()]
    assert len(keys) == 1 and keys[0].startswith("account:reset:")
    secret = _mailed_link(app)
    assert app.run(lambda uow: services.redeem_link(uow, secret, GOOD)).ok


# -- API tokens -----------------------------------------------------------------------------------------


def test_tokens_authenticate_until_revoked_and_are_stored_hashed(app, clock):
    new = app.run(lambda uow: services.create_token(uow, "u-admin", "u-coord", label="Laptop"))
    assert new.token.startswith("cft_") and new.scope is TokenScope.WRITE
    with Session(app.engine) as session:
        stored = session.execute(text("SELECT token_hash FROM api_token")).scalars().all()
    assert new.token not in stored
    clock.advance(minutes=3)
    assert app.run(lambda uow: services.authenticate_token(uow, new.token)).id == "u-coord"
    (listed,) = app.run(lambda uow: services.list_tokens(uow, "u-coord", "u-coord"))
    assert (listed.label, listed.last_used_at) == ("Laptop", clock.at)
    with pytest.raises(UseCaseError, match="gibt es nicht"):
        app.run(lambda uow: services.revoke_token(uow, "u-lead", new.id))  # not theirs: not revealed
    app.run(lambda uow: services.revoke_token(uow, "u-coord", new.id))
    with pytest.raises(UseCaseError, match="ungültig, abgelaufen oder widerrufen"):
        app.run(lambda uow: services.authenticate_token(uow, new.token))
    with pytest.raises(UseCaseError, match="schon widerrufen"):
        app.run(lambda uow: services.revoke_token(uow, "u-admin", new.id))
    log = _log(app, "u-coord")
    assert [(e.action, e.actor_id) for e in log] == [("account.token_create", "u-admin"),
                                                      ("account.token_revoke", "u-coord")]
    assert all(new.token not in json.dumps(e.payload) for e in log)


def test_tokens_expire_and_a_read_token_does_not_write(app, clock):
    expires = clock.at.replace(hour=23)
    read = app.run(lambda uow: services.create_token(uow, "u-lead", "u-lead", label="nur lesen",
                                                     scope=TokenScope.READ, expires_at=expires))
    assert app.run(lambda uow: services.authenticate_token(uow, read.token, scope="read")).id == "u-lead"
    with pytest.raises(UseCaseError, match="erlaubt nur Lesen"):
        app.run(lambda uow: services.authenticate_token(uow, read.token))
    clock.at = expires
    with pytest.raises(UseCaseError, match="abgelaufen"):
        app.run(lambda uow: services.authenticate_token(uow, read.token, scope="read"))
    with pytest.raises(UseCaseError, match="ungültig"):
        app.run(lambda uow: services.authenticate_token(uow, "cft_erfunden"))
    with pytest.raises(UseCaseError) as exc:
        app.run(lambda uow: services.create_token(uow, "u-lead", "u-lead", label=" "))
    assert exc.value.kind is ErrorKind.INPUT and "Bezeichnung" in exc.value.problems[0].message
    with pytest.raises(UseCaseError, match="nur für sich selbst"):
        app.run(lambda uow: services.create_token(uow, "u-lead", "u-coord", label="fremd"))


def test_password_problems_lists_every_problem():
    assert accounts.password_problems("") == ["Bitte ein Passwort angeben."]
    assert accounts.password_problems(GOOD) == []
    assert len(accounts.password_problems("aaa")) == 2
