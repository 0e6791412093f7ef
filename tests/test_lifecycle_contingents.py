"""Contingents: free places, the limit, returning and carrying places over."""

from __future__ import annotations

import pytest

from certflow.calendar import KindergartenYear
from certflow.lifecycle import (
    Contingent, Refused, carry_over, free_place_refusal, grant, nominate, release, return_place,
)

KGJ = KindergartenYear(2025)


def contingent(**kw) -> Contingent:
    return Contingent("ja-1", KGJ, **kw)


def test_nominate_up_to_exactly_the_limit() -> None:
    c = contingent(granted=3)
    for expected_free in (2, 1, 0):
        c = nominate(c)
        assert c.free == expected_free
    assert c.nominated == 3 and free_place_refusal(c) is not None


def test_one_over_the_limit_is_refused_with_a_clear_message() -> None:
    full = contingent(granted=3, nominated=3)
    with pytest.raises(Refused) as exc:
        nominate(full, "Kreis Musterland")
    assert exc.value.message == (
        "Kein freier Platz im Kontingent des Jugendamts Kreis Musterland für 2025/26 (3 von 3 vergeben)")
    with pytest.raises(Refused, match="Jugendamts ja-1 für 2025/26"):
        nominate(full)


def test_returned_places_count_against_the_free_ones() -> None:
    c = return_place(contingent(granted=3, nominated=2))
    assert (c.free, c.returned) == (0, 1)
    with pytest.raises(Refused, match=r"\(2 von 3 vergeben, 1 zurückgegeben\)"):
        nominate(c)
    with pytest.raises(Refused, match="nur 0 freie"):
        return_place(c)


def test_return_and_carry_over_to_the_next_year() -> None:
    this = return_place(contingent(granted=5, nominated=3), 2)
    this, nxt = carry_over(this)
    assert (nxt.jugendamt_id, nxt.kgj, nxt.carried_in, nxt.granted, nxt.free) == ("ja-1", KGJ.next(), 2, 0, 2)
    assert this.carried_out == 2 and this.free == 0
    with pytest.raises(Refused, match="keine zurückgegebenen Plätze"):
        carry_over(this)  # a place is carried once
    nxt = nominate(grant(nxt, 1))
    assert (nxt.total, nxt.free) == (3, 2)


def test_carry_over_into_an_existing_next_year() -> None:
    this = return_place(contingent(granted=1))
    _, nxt = carry_over(this, Contingent("ja-1", KGJ.next(), granted=4))
    assert (nxt.granted, nxt.carried_in, nxt.free) == (4, 1, 5)
    with pytest.raises(Refused, match="dasselbe Jugendamt"):
        carry_over(this, Contingent("ja-2", KGJ.next()))
    with pytest.raises(Refused, match="2026/27"):
        carry_over(this, Contingent("ja-1", KGJ.next().next()))


def test_carried_in_places_can_be_nominated() -> None:
    c = nominate(contingent(carried_in=1))
    assert c.free == 0


def test_release_frees_a_nominated_place() -> None:
    c = release(contingent(granted=1, nominated=1))
    assert c.free == 1
    with pytest.raises(Refused, match="kein Platz vergeben"):
        release(c)


@pytest.mark.parametrize("bad", [0, -1, True, 1.5])
def test_grant_and_return_need_positive_whole_numbers(bad) -> None:
    with pytest.raises(Refused):
        grant(contingent(), bad)
    with pytest.raises(Refused):
        return_place(contingent(granted=3), bad)


def test_inconsistent_contingents_are_impossible() -> None:
    with pytest.raises(ValueError, match="mehr Plätze vergeben"):
        contingent(granted=1, nominated=2)
    with pytest.raises(ValueError, match="ganze Zahl"):
        contingent(granted=-1)
    with pytest.raises(ValueError, match="übertragen"):
        contingent(granted=1, returned=1, carried_out=2)
