"""When to try a failed delivery again: a fixed back-off schedule. Pure.

After the 1st failed attempt wait 1 minute, then 5 minutes, 30 minutes, 2 hours,
and 12 hours for every further attempt; after ``max_attempts`` failed attempts
(10: about three days) give up. A permanent failure (:class:`.smtp.DeliveryError`
with ``retryable=False``) is not retried at all. Given-up and permanent failures
stay in the outbox as ``failed`` with the German error, visible to the
administration, until someone retries them by hand.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

__all__ = ["BACKOFF", "MAX_ATTEMPTS", "next_attempt"]

BACKOFF: tuple[timedelta, ...] = (
    timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2), timedelta(hours=12),
)
MAX_ATTEMPTS = 10


def next_attempt(attempts: int, now: datetime, *, retryable: bool = True,
                 schedule: Sequence[timedelta] = BACKOFF, max_attempts: int = MAX_ATTEMPTS) -> datetime | None:
    """The time of the next attempt after ``attempts`` failed attempts (>= 1), or ``None``: give up.

    The wait is ``schedule[attempts - 1]``, capped at the schedule's last entry.
    """
    if attempts < 1:
        raise ValueError(f"attempts counts failed attempts and starts at 1, not {attempts}")
    if not schedule:
        raise ValueError("the back-off schedule is empty")
    if not retryable or attempts >= max_attempts:
        return None
    return now + schedule[min(attempts, len(schedule)) - 1]
