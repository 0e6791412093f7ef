"""Back-off: 1, 5, 30 minutes, 2 hours, then 12 hours; give up after ten attempts or on a permanent error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from certflow.notify import MAX_ATTEMPTS, next_attempt

NOW = datetime(2027, 3, 15, 7, 0, tzinfo=UTC)


def test_schedule_grows_and_is_capped():
    waits = [next_attempt(n, NOW) - NOW for n in range(1, MAX_ATTEMPTS)]
    assert waits[:5] == [timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2),
                         timedelta(hours=12)]
    assert set(waits[5:]) == {timedelta(hours=12)}


def test_gives_up_after_max_attempts_and_never_retries_permanent_errors():
    assert next_attempt(MAX_ATTEMPTS, NOW) is None
    assert next_attempt(1, NOW, retryable=False) is None
    assert next_attempt(3, NOW, max_attempts=3) is None
    assert next_attempt(2, NOW, schedule=[timedelta(seconds=10)]) == NOW + timedelta(seconds=10)


def test_attempts_start_at_one():
    with pytest.raises(ValueError):
        next_attempt(0, NOW)
