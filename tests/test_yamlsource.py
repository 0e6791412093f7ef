import pytest

from certflow.errors import InputError
from certflow.yamlsource import MAX_VALUES, read_document


def test_scalars_stay_strings_and_lines_are_known():
    doc = read_document("id: 1.10\nlist:\n  - a: ~\n    b: 2020-01-01\n", "f.yaml")
    assert doc.data == {"id": "1.10", "list": [{"a": None, "b": "2020-01-01"}]}
    assert doc.line_of(("list", 0, "b")) == 4
    assert doc.line_of(("list", 0, "missing", "deeper")) == 3


def test_duplicate_key_is_reported_at_its_line():
    with pytest.raises(InputError) as exc:
        read_document("a: 1\nb: 2\na: 3\n", "f.yaml")
    assert str(exc.value) == "f.yaml:3: a: Schlüssel 'a' doppelt"


def test_syntax_error_names_the_line():
    with pytest.raises(InputError) as exc:
        read_document("a:\n  - [1, 2\n", "f.yaml")
    assert exc.value.problems[0].line == 3
    assert "YAML-Syntaxfehler" in str(exc.value)


def test_empty_file():
    with pytest.raises(InputError, match="leer"):
        read_document("# nothing\n", "f.yaml")


def test_recursive_alias_is_refused():
    with pytest.raises(InputError, match="rekursiver"):
        read_document("a: &x [*x]\n", "f.yaml")


def test_alias_bomb_is_refused():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 8):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 10)}]")
    with pytest.raises(InputError, match=f"mehr als {MAX_VALUES}"):
        read_document("\n".join(lines) + "\n", "bomb.yaml")


def test_json_is_read_too():
    doc = read_document('{\n  "a": [1, 2],\n  "b": {"c": "d"}\n}\n', "f.json")
    assert doc.data == {"a": ["1", "2"], "b": {"c": "d"}}
    assert doc.line_of(("b", "c")) == 3
