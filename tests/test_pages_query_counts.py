"""The reads behind the web's main pages take a fixed, small number of SQL queries, whatever the size of the data.

Each role's start page (:func:`certflow.services.queries.overview_page`), the certification body's desk
(:func:`certflow.services.certification.desk`), the auditor's assignments
(:func:`certflow.services.review.assignments`), the coordinator's dashboard, list and export
(:mod:`certflow.services.dashboard`, :mod:`certflow.services.exports`): run on 3 Familienzentren and again on
30 (each with a decided and an open procedure, a seal and a submitted self-assessment), on SQLite and
PostgreSQL, counting the statements with a ``before_cursor_execute`` listener. The counts must be the same
both times and at most :data:`MOST` queries (the transaction's ``BEGIN IMMEDIATE`` on SQLite is a statement
but not a query, and is left out). What the page shows on top (the login's session check) is the web's
and not counted here; ``benchmarks/bench_web_scale.py`` counts whole requests.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from certflow.db import UnitOfWork
from certflow.errors import InputError
from certflow.lifecycle.entities import ProcedureState
from certflow.services import certification, dashboard, exports, queries, review
from db_support import FixedClock, db_url, engine, pg_schema, postgres_admin, sent_statements  # noqa: F401
from test_services_queries_sql import READERS, START, _grow

MOST = 5
"""The most queries one page's read may take (the goal of issues 10 and 12)."""
DAY = date(2026, 3, 10)


def _queries(engine, action, *args, **kwargs) -> tuple[object, list[str]]:  # noqa: F811
    """What ``action`` returns in a unit of work of its own, and the queries it sent (transaction control left out)."""
    with sent_statements(engine, queries_only=True) as sent, \
            UnitOfWork(engine, clock=lambda: START + timedelta(days=200)) as uow:
        result = action(uow, *args, **kwargs)
    return result, sent


READS = {
    **{f"start page as {u}": (queries.overview_page, (u, DAY), {}) for u in READERS},
    **{f"start page filtered as {u}": (queries.overview_page, (u, DAY), {"state": "submitted"}) for u in READERS},
    **{f"start page 2 as {u}": (queries.overview_page, (u, DAY), {"page": 2, "limit": 1}) for u in READERS},
    "desk": (certification.desk, ("zert",), {}),
    "desk, decided page 2": (certification.desk, ("zert",), {"stage": "decided", "page": 2, "limit": 2}),
    "assignments": (review.assignments, ("aud",), {}),
    "assignment page": (review.assignment_page, ("aud",), {}),
    "assignment page 2": (review.assignment_page, ("aud",), {"page": 2, "limit": 1}),
    "dashboard": (dashboard.dashboard, ("koord",), {}),
    "list": (dashboard.familienzentren, ("koord",), {"limit": 10}),
    "list, page 2 filtered": (dashboard.familienzentren, ("koord",), {
        "filters": dashboard.FamilienzentrumFilter(state="submitted"), "limit": 2, "offset": 2}),
    "export": (exports.export_familienzentren, ("koord", None, "csv"), {}),
}


def test_the_main_pages_take_the_same_few_queries_for_3_and_for_30_familienzentren(engine):  # noqa: F811
    clock = FixedClock(START)
    _grow(engine, clock, 0, 3)
    small = {name: _queries(engine, action, *args, **kw) for name, (action, args, kw) in READS.items()}
    _grow(engine, clock, 3, 30)
    large = {name: _queries(engine, action, *args, **kw) for name, (action, args, kw) in READS.items()}

    counts = {name: len(sent) for name, (_, sent) in large.items()}
    assert counts == {name: len(sent) for name, (_, sent) in small.items()}
    assert max(counts.values()) <= MOST, counts

    # the data did grow, and each page shows its share of it
    view = large["start page as admin"][0]
    assert (small["start page as admin"][0].total, view.total, view.matching, len(view.rows)) == (3, 30, 30, 30)
    assert dict(view.by_state) == {ProcedureState.SUBMITTED: 30}
    assert (large["start page as aud"][0].total, large["start page as leitung-000"][0].total) == (15, 1)
    second = large["start page 2 as koord"][0]
    assert ([r.familienzentrum_id for r in second.rows], second.page, second.pages) == (["fz-001"], 2, 30)
    stages = {stage.key: stage for stage in large["desk"][0]}
    assert (stages["plan"].total, len(stages["plan"].rows), stages["decided"].total) == (30, 25, 30)
    assert (len(stages["decided"].rows), stages["decided"].pages) == (certification.DESK_PAGE_SIZE, 2)
    assert [r.procedure_id for r in stages["decided"].rows][:2] == ["V-2021-029", "V-2021-028"]  # newest first
    paged = {stage.key: stage for stage in large["desk, decided page 2"][0]}
    assert ([r.procedure_id for r in paged["decided"].rows], paged["decided"].page, paged["decided"].pages) == (
        ["V-2021-027", "V-2021-026"], 2, 15)
    assert ([r.procedure_id for r in paged["plan"].rows], paged["plan"].page) == (["V-2025-000", "V-2025-001"], 1)
    assert [a.procedure_id for a in large["assignments"][0]][:2] == ["V-2025-000", "V-2025-002"]
    assert len(large["assignments"][0]) == 30
    listing = large["assignment page 2"][0]
    assert ([a.procedure_id for a in listing.open][:2], len(listing.open)) == (["V-2025-000", "V-2025-002"], 15)
    assert ([a.procedure_id for a in listing.closed], listing.closed_total, listing.pages) == (["V-2021-026"], 15, 15)
    board = large["dashboard"][0]
    assert (board.familienzentren, board.packets, dict(board.procedures)) == (
        30, 60, {ProcedureState.SUBMITTED: 30, ProcedureState.CERTIFIED: 30})
    assert (len(large["list"][0].rows), large["list"][0].total) == (10, 30)
    page = large["list, page 2 filtered"][0]
    assert ([r.id for r in page.rows], page.total) == (["fz-002", "fz-003"], 30)
    assert large["export"][0].body.count(b"\n") - small["export"][0].body.count(b"\n") == 27  # a line each


def test_a_page_past_the_last_is_empty_and_keeps_its_counts(engine):  # noqa: F811
    _grow(engine, FixedClock(START), 0, 3)
    view, sent = _queries(engine, queries.overview_page, "admin", DAY, page=9)
    assert (view.rows, view.total, view.matching, view.page, view.pages) == ((), 3, 3, 9, 1)
    assert len(sent) <= MOST - 2  # no rows to read
    listing, _ = _queries(engine, dashboard.familienzentren, "koord", limit=2, offset=10)
    assert (listing.rows, listing.total) == ((), 3)
    stages, _ = _queries(engine, certification.desk, "zert", stage="decided", page=5)
    decided = stages[-1]
    assert (decided.rows, decided.total, decided.page) == ((), 3, 5)


@pytest.mark.parametrize("kwargs, problem", [
    ({"state": "erfunden"},
     "Filter: zustand: Einen Zustand „erfunden“ gibt es nicht; bitte einen aus der Liste wählen"),
    ({"page": 0}, "Seite: seite: eine ganze Zahl ab 1 erwartet, nicht 0"),
    ({"limit": 0}, "Seite: limit: eine ganze Zahl ab 1 erwartet, nicht 0"),
])
def test_a_bad_filter_or_page_of_the_start_page_is_bad_input(engine, kwargs, problem):  # noqa: F811
    _grow(engine, FixedClock(START), 0, 1)
    with UnitOfWork(engine) as uow, pytest.raises(InputError) as caught:
        queries.overview_page(uow, "admin", DAY, **kwargs)
    assert [str(p) for p in caught.value.problems] == [problem]
