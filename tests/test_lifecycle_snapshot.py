"""Snapshots: canonical JSON, a stable hash, immutable revisions."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import datetime, timezone

import pytest
from test_lifecycle_world import ASSESSMENT, DATA, NOW

from certflow.assessment.model import Assessment
from certflow.lifecycle import canonical_json, freeze, next_revision, sha256_hex, verify
from certflow.yamlsource import read_document


def raw() -> dict:
    """The example assessment as plain data (as read from YAML)."""
    return read_document((DATA / "mini-assessment.yaml").read_text(encoding="utf-8"), "x", ValueError).data


def reordered(value):
    """The same data with every mapping's keys in reverse order."""
    if isinstance(value, dict):
        return {k: reordered(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [reordered(v) for v in value]
    return value


def test_canonical_form() -> None:
    text = canonical_json(ASSESSMENT)
    data = json.loads(text)
    assert text == json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert '"period":{"end":"2026-07-31","start":"2025-08-01"}' in text  # sorted keys, ISO dates, no blanks
    assert "\n" not in text and '": ' not in text and '", "' not in text
    assert data["answers"]["1.1"] == {"comment": "", "status": "erfuellt"}  # defaults included


def test_hash_is_stable_across_key_order() -> None:
    a = Assessment.model_validate(raw())
    b = Assessment.model_validate(reordered(raw()))
    assert list(a.answers) != list(b.answers)
    assert canonical_json(a) == canonical_json(b)
    assert sha256_hex(canonical_json(a)) == sha256_hex(canonical_json(b))
    assert canonical_json(reordered(ASSESSMENT.model_dump())) == canonical_json(ASSESSMENT)  # mappings too


def test_order_of_records_carries_no_meaning() -> None:
    data = raw()
    data["activities"].reverse()
    data["profiles"] = list(reversed(data["profiles"]))
    assert canonical_json(Assessment.model_validate(data)) == canonical_json(ASSESSMENT)


def test_shorthand_and_full_answers_are_the_same() -> None:
    data = raw()
    data["answers"]["1.1"] = {"status": "erfuellt"}
    assert canonical_json(Assessment.model_validate(data)) == canonical_json(ASSESSMENT)


def test_hash_changes_with_content() -> None:
    data = raw()
    data["answers"]["1.1"] = "nicht_erfuellt"
    assert sha256_hex(canonical_json(Assessment.model_validate(data))) != sha256_hex(canonical_json(ASSESSMENT))
    data = raw()
    data["activities"][0]["sessions"] = 6
    assert canonical_json(Assessment.model_validate(data)) != canonical_json(ASSESSMENT)


def test_utf8_not_escaped() -> None:
    data = raw()
    data["familienzentrum"] = "Familienzentrum Bärenhöhle"
    text = canonical_json(Assessment.model_validate(data))
    assert "Bärenhöhle" in text and "\\u" not in text
    assert sha256_hex(text) == hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_freeze_and_revisions() -> None:
    snap = freeze(ASSESSMENT, 1, procedure_id="p-1", submitted_by="u-lead", submitted_at=NOW, passed=True)
    assert (snap.procedure_id, snap.revision, snap.passed, snap.submitted_at) == ("p-1", 1, True, NOW)
    assert snap.sha256 == sha256_hex(snap.canonical_json) and verify(snap)
    with pytest.raises(dataclasses.FrozenInstanceError):
        snap.revision = 2  # type: ignore[misc]
    assert next_revision(None) == 1 and next_revision(snap) == 2
    edited = ASSESSMENT.model_copy(update={"familienzentrum": "FZ Neuer Name"})
    second = freeze(edited, next_revision(snap), procedure_id="p-1", submitted_by="u-lead", submitted_at=NOW,
                    passed=True)
    assert second.revision == 2 and second.sha256 != snap.sha256 and verify(snap)
    assert not verify(dataclasses.replace(snap, canonical_json=second.canonical_json))


@pytest.mark.parametrize("revision", [0, -1, True, "1"])
def test_freeze_refuses_bad_revisions(revision) -> None:
    with pytest.raises(ValueError):
        freeze(ASSESSMENT, revision, procedure_id="p", submitted_by="u", submitted_at=NOW, passed=True)


def test_freeze_needs_an_aware_time() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        freeze(ASSESSMENT, 1, procedure_id="p", submitted_by="u", submitted_at=datetime(2026, 1, 1), passed=True)
    freeze(ASSESSMENT, 1, procedure_id="p", submitted_by="u", submitted_at=datetime(2026, 1, 1, tzinfo=timezone.utc),
           passed=True)
