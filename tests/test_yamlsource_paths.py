"""The fast way of reading YAML gives exactly what the line-tracking way gives, and the same errors.

``read_document`` composes and converts without noting lines; only a problem (or a caller asking for
a line) reads the text again with tracking (``_tracked``). YAML 1.1's implicit types (``no``, ``on``,
dates, octals, sexagesimals ...) must not creep into either: every scalar stays the string it was
written as, ``~``/``null``/nothing is ``None``.
"""

from __future__ import annotations

import json
import string
from datetime import date

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from certflow.errors import InputError
from certflow.yamlsource import _tracked, read_document

SCALARS = [
    # written            read as
    ("no", "no"), ("yes", "yes"), ("on", "on"), ("off", "off"), ("No", "No"), ("y", "y"), ("n", "n"),
    ("true", "true"), ("False", "False"), ("TRUE", "TRUE"),
    ("2020-01-01", "2020-01-01"), ("2001-12-14t21:59:43.10-05:00", "2001-12-14t21:59:43.10-05:00"),
    ("0o17", "0o17"), ("017", "017"), ("0x1F", "0x1F"), ("0b101", "0b101"), ("1_000", "1_000"),
    ("190:20:30", "190:20:30"),
    ("1.10", "1.10"), ("1.0", "1.0"), ("+1", "+1"), ("-0", "-0"), ("1e3", "1e3"), (".inf", ".inf"), ("-.Inf", "-.Inf"),
    (".nan", ".nan"), ("2020", "2020"), ("4B1.1", "4B1.1"),
    ("~", None), ("null", None), ("Null", None), ("NULL", None), ("", None), ("nULL", "nULL"), ("nulls", "nulls"),
    ("'null'", "null"), ('"~"', "~"), ("''", ""), ("!!null ''", None), ("!!str 5", "5"), ("!!int 5", "5"),
    ("!!bool yes", "yes"), ("! 12", "12"), ("!custom x", "x"), ("'it''s'", "it's"), ('"\\u00e4\\t"', "ä\t"),
    ("= x", "= x"), ("Kita & Familie", "Kita & Familie"),
]


@pytest.mark.parametrize(("written", "read"), SCALARS)
def test_a_scalar_reads_the_same_both_ways(written, read):
    text = f"value: {written}\nlist: [{written or '~'}]\n"
    fast = read_document(text, "f.yaml")
    assert fast.data["value"] == read
    assert fast.data == _tracked(text, "f.yaml", InputError).data


def test_block_scalars_flow_collections_anchors_and_json():
    text = (
        "folded: >\n  eins\n  zwei\n\nliteral: |-\n  a\n   b\n"
        "flow: {a: [1, {b: ~}], 'c d': \"e\"}\n"
        "anchor: &x {k: [v, w]}\nalias: *x\n"
        "? long key\n: long value\n"
    )
    fast = read_document(text, "f.yaml")
    assert fast.data == {
        "folded": "eins zwei\n", "literal": "a\n b", "flow": {"a": ["1", {"b": None}], "c d": "e"},
        "anchor": {"k": ["v", "w"]}, "alias": {"k": ["v", "w"]}, "long key": "long value",
    }
    assert fast.data == _tracked(text, "f.yaml", InputError).data
    doc = read_document('{"a": [1, 2.50, true, null, "x"]}', "f.json")
    assert doc.data == {"a": ["1", "2.50", "true", None, "x"]}


def test_lines_found_on_demand_are_those_of_the_tracked_reading():
    text = "a: 1\nlist:\n  - b: 2\n    c: [3, 4]\n  - x\nd:\n  e: ~\n"
    fast, tracked = read_document(text, "f.yaml"), _tracked(text, "f.yaml", InputError)
    assert fast.lines == tracked.lines
    assert fast.line_of(("list", 0, "c", 1)) == 4 and fast.line_of(("d", "e", "deeper")) == 7


@pytest.mark.parametrize("text", [
    "a: 1\nb: 2\na: 3\n",                    # duplicate key
    "base: &b {x: 1}\nc:\n  <<: *b\n",       # merge key
    "a: &x [*x]\n",                          # recursive anchor
    "? [a, b]\n: c\n",                       # a key that is not a scalar
    "a:\n  - [1, 2\n",                       # syntax error
    "# nothing\n",                           # empty
    "a: \x07\n",                             # control character
])
def test_a_problem_is_reported_as_by_the_tracked_reading(text):
    with pytest.raises(InputError) as fast:
        read_document(text, "f.yaml")
    with pytest.raises(InputError) as tracked:
        _tracked(text, "f.yaml", InputError)
    assert str(fast.value) == str(tracked.value)


# Random documents: data dumped in every style PyYAML writes, and JSON.
_leaf = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.dates(min_value=date(1900, 1, 1)),
    st.text(max_size=12),
    st.sampled_from([s for s, _ in SCALARS if not s.startswith(("!", "'", '"'))]),
)
_key = st.one_of(st.text(alphabet=string.ascii_letters + string.digits + ".-_ äöü", min_size=1, max_size=8),
                 st.sampled_from(["1.10", "no", "on", "2020-01-01", "0o17", "~x"]))
_data = st.recursive(_leaf, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                    st.dictionaries(_key, inner, max_size=4)), max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(data=st.dictionaries(_key, _data, min_size=1, max_size=5), style=st.sampled_from([None, True, False]),
       as_json=st.booleans())
def test_random_documents_read_the_same_both_ways(data, style, as_json):
    if as_json:
        text = json.dumps(data, default=str, ensure_ascii=False, indent=1)
    else:
        text = yaml.safe_dump(data, default_flow_style=style, allow_unicode=True)
    try:
        tracked = _tracked(text, "f.yaml", InputError)
    except InputError as exc:  # e.g. a control character JSON leaves raw and YAML refuses
        with pytest.raises(InputError) as fast_error:
            read_document(text, "f.yaml")
        assert str(fast_error.value) == str(exc)
        return
    fast = read_document(text, "f.yaml")
    assert fast.data == tracked.data
    assert fast.lines == tracked.lines
