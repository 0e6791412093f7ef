"""Property-based tests: monotone scoring, a loader that only ever raises its own error, windows that tile."""

from datetime import date, timedelta

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from certflow.assessment import Answer, Status
from certflow.assessment.loader import parse_assessment
from certflow.catalogue import load_catalogue, parse_catalogue
from certflow.catalogue.model import ALL_VARIANTS
from certflow.errors import AssessmentError, CatalogueError
from certflow.resources import default_catalogue
from certflow.samples import satisfying_assessment
from certflow.scoring import Scorer
from certflow.scoring.periods import windows

from conftest import DATA

CATALOGUES = [load_catalogue(DATA / "mini.yaml"), load_catalogue(default_catalogue())]
SCORERS = [Scorer(c) for c in CATALOGUES]


def _points(report):
    out = {}
    for area in report.areas:
        out[area.id] = area.tally.points
        for prof in area.profiles:
            out[prof.id] = prof.tally.points
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    which=st.integers(0, len(CATALOGUES) - 1),
    variant=st.sampled_from(ALL_VARIANTS),
    statuses=st.lists(st.sampled_from(list(Status)), min_size=200, max_size=200),
    flip=st.integers(0, 10_000),
)
def test_meeting_one_more_item_never_hurts(which, variant, statuses, flip):
    cat, scorer = CATALOGUES[which], SCORERS[which]
    full = satisfying_assessment(cat, variant)
    keys = list(full.answers)
    answers = {k: Answer(status=statuses[i % len(statuses)]) for i, k in enumerate(keys)}
    before = full.model_copy(update={"answers": answers})
    target = keys[flip % len(keys)]
    after = full.model_copy(update={"answers": {**answers, target: Answer(status=Status.ERFUELLT)}})
    r1, r2 = scorer.score(before, full.period), scorer.score(after, full.period)
    p1, p2 = _points(r1), _points(r2)
    assert all(p2[k] >= p1[k] for k in p1), (target, p1, p2)
    assert not (r1.passed and not r2.passed)
    assert len([d for d in r2.deficits if d.blocking]) <= len([d for d in r1.deficits if d.blocking])


@settings(max_examples=40, deadline=None)
@given(which=st.integers(0, len(CATALOGUES) - 1), variant=st.sampled_from(ALL_VARIANTS))
def test_generated_complete_assessments_pass(which, variant):
    full = satisfying_assessment(CATALOGUES[which], variant)
    assert SCORERS[which].score(full, full.period).passed


yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20) | st.dates(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=30,
)
catalogue_keys = st.sampled_from(["programme", "title", "version", "valid_from", "areas", "criteria", "id", "kind",
                                  "level", "points", "threshold", "items", "logic", "all", "any", "frequency",
                                  "evidence", "profiles", "profile_rule", "min_points", "min_basis", "every"])
catalogue_like = st.recursive(
    st.none() | st.integers(-3, 30) | st.sampled_from(["1.1", "basis", "leistung", "profil", "4B", "2020-08-01", "x"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(catalogue_keys, children, max_size=6),
    max_leaves=40,
)


def _only_catalogue_errors(text: str) -> None:
    try:
        parse_catalogue(text, "h.yaml")
    except CatalogueError as exc:
        assert exc.problems and all(p.source == "h.yaml" for p in exc.problems)


@settings(max_examples=300, deadline=None)
@given(st.one_of(yaml_values, catalogue_like))
def test_loader_on_arbitrary_yaml_raises_only_its_own_error(value):
    _only_catalogue_errors(yaml.safe_dump(value, allow_unicode=True))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_loader_on_arbitrary_text_raises_only_its_own_error(text):
    _only_catalogue_errors(text)


MINI_TEXT = (DATA / "mini.yaml").read_text(encoding="utf-8")


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_loader_on_damaged_catalogue_raises_only_its_own_error(data):
    lines = MINI_TEXT.splitlines(keepends=True)
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(lines) - 1))
        action = data.draw(st.sampled_from(["drop", "dup", "edit"]))
        if action == "drop":
            del lines[i]
        elif action == "dup":
            lines.insert(i, lines[i])
        else:
            pos = data.draw(st.integers(0, max(0, len(lines[i]) - 1)))
            lines[i] = lines[i][:pos] + data.draw(st.text(max_size=3)) + lines[i][pos + 1:]
        if not lines:
            break
    _only_catalogue_errors("".join(lines))


@settings(max_examples=200, deadline=None)
@given(st.one_of(yaml_values, catalogue_like))
def test_assessment_loader_raises_only_its_own_error(value):
    try:
        parse_assessment(yaml.safe_dump(value, allow_unicode=True), "a.yaml", CATALOGUES[0])
    except AssessmentError as exc:
        assert exc.problems


@settings(max_examples=300, deadline=None)
@given(start=st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31)),
       days=st.integers(0, 800), every=st.sampled_from(["week", "month", "quarter", "half_year", "year"]))
def test_windows_cover_the_period_exactly_and_week_windows_hold_every_weekday(start, days, every):
    end = start + timedelta(days=days)
    ws = windows(start, end, every)
    assert ws[0][0] == start and ws[-1][1] == end
    assert all(first <= last for first, last in ws)
    assert all(a[1] + timedelta(days=1) == b[0] for a, b in zip(ws, ws[1:]))
    if every == "week" and days >= 6:
        assert all((last - first).days >= 6 for first, last in ws)
    if every == "half_year":  # the inner boundaries are the halves of the Kindergartenjahr
        assert all((b[0].month, b[0].day) in ((2, 1), (8, 1)) for b in ws[1:])
