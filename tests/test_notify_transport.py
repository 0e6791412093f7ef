"""The transport seam: the in-memory twin behaves as the SMTP transport reports (no server needed)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from test_reminders_support import LEAD, cert, of_kind, snapshot

from certflow.lifecycle.entities import Role
from certflow.notify import (
    Addressee, DeliveryError, MailRenderer, MemoryTransport, SmtpConfig, SmtpTransport, Transport, reminder_message,
)
from certflow.reminders import plan_reminders

NOW = datetime(2027, 1, 31, 6, 0, tzinfo=UTC)
SENDER = "certflow <noreply@certflow.example>"
ANNA = Addressee(LEAD.id, "Anna Müller", "anna.mueller@kita.example", Role.KITA_LEAD)


def message():
    r = of_kind(plan_reminders(snapshot(certificates=(cert(date(2023, 6, 1)),))), "validity_1m")[0]
    return reminder_message(MailRenderer(), r, ANNA, sender=SENDER, now=NOW)


def test_both_transports_are_the_same_seam():
    smtp = SmtpTransport(SmtpConfig(host="127.0.0.1", port=2525, tls="none", sender=SENDER))
    memory = MemoryTransport(SENDER)
    assert isinstance(smtp, Transport) and isinstance(memory, Transport)
    assert smtp.sender == memory.sender == SENDER


def test_the_twin_records_what_it_delivers_after_the_hook():
    transport = MemoryTransport()
    msg, order = message(), []
    assert transport.send(msg, before_end_of_data=lambda: order.append(len(transport.sent))) == msg["Message-ID"]
    assert order == [0] and transport.sent == [msg]
    transport.send(msg)
    assert transport.message_ids() == {msg["Message-ID"]: 2}
    assert transport.to() == {"anna.mueller@kita.example": 2}


def test_scripted_failures_are_used_up_in_order():
    transport = MemoryTransport()
    transport.fail_next(retryable=True)
    transport.fail_next(retryable=False, code=554, message="Inhalt abgelehnt")
    hooks = []
    with pytest.raises(DeliveryError) as temporary:
        transport.send(message(), before_end_of_data=lambda: hooks.append(1))
    assert temporary.value.retryable and temporary.value.code == 451 and "vorübergehend" in temporary.value.message
    with pytest.raises(DeliveryError) as permanent:
        transport.send(message(), before_end_of_data=lambda: hooks.append(1))
    assert not permanent.value.retryable and permanent.value.code == 554
    assert permanent.value.message == "Inhalt abgelehnt"
    assert hooks == [] and transport.sent == []  # refused before the end of data: the hook never ran
    transport.send(message())
    assert len(transport.sent) == 1


def test_a_failure_after_the_end_of_data_is_reported_as_unknown():
    transport = MemoryTransport()
    transport.fail_next(after_end_of_data=True, times=2)
    hooks = []
    for _ in range(2):
        with pytest.raises(DeliveryError) as info:
            transport.send(message(), before_end_of_data=lambda: hooks.append(1))
        assert info.value.code is None and info.value.retryable  # the outbox marks it uncertain and retries
    assert hooks == [1, 1] and transport.sent == [] and len(transport.uncertain) == 2


def test_a_hook_that_raises_delivers_nothing():
    transport = MemoryTransport()

    def hook():
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        transport.send(message(), before_end_of_data=hook)
    assert transport.sent == [] and transport.uncertain == []
