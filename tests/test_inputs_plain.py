"""The one-pass reader of plain YAML (msgen.inputs._plain_data) reads what the safe loader reads.

``.copier-answers.yml`` is read through it (a big domain's answers are 100 KB); a document
it does not handle goes to the full reader. So for any text it either declines or returns
exactly PyYAML's safe load: same values, same types, same key order.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from msgen.errors import InputFileError
from msgen.inputs import _UNUSUAL, MAX_DEPTH, _plain_data, load_yaml

LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class Loader(LOADER):  # type: ignore[misc,valid-type]
    """A fresh subclass, as msgen.inputs makes one."""


def same(a: Any, b: Any) -> bool:
    """Equal values of the same types, dict keys in the same order (NaN equals NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return bool(a == b)


def check(text: str, *, max_nodes: int = 10_000) -> Any:
    """The one-pass value of ``text``, checked against the safe loader; None when declined."""
    fast = _plain_data(text, Loader, max_nodes=max_nodes)
    if fast is _UNUSUAL:
        return None
    assert same(fast, yaml.load(text, Loader=LOADER)), text
    return fast


PLAIN = [
    "",
    "# only a comment\n",
    "a: 1\nb: -2\nc: 0x1F\nd: 017\ne: 0o17\nf: 1_000\ng: 1:30\nh: +5\n",
    "a: 1.5\nb: .inf\nc: -.Inf\nd: .NaN\ne: 1e3\nf: 6.8523015e+5\ng: 190:20:30.15\n",
    "a: yes\nb: No\nc: on\nd: OFF\ne: true\nf: ~\ng: null\nh: ''\ni:\n",
    'a: "1"\nb: \'true\'\nc: "null"\nd: "\\u00e9\\n"\ne: ! 1\n',
    "a: |\n  one\n  two\nb: >-\n  folded\n  text\n",
    "a: b\na: c\n",
    "True: 1\n1: 2\n1.0: 3\nnull: 4\n",
    "- - - 1\n  - 2\n- []\n- {}\n",
    "a: [1, {b: [c, d]}, 'e']\n",
    "--- \na: 1\n...\n",
    "? a\n: b\n",
]

DECLINED = [
    "a: &x 1\nb: *x\n",  # aliases: refused by the full reader's bounds
    "a: &x 1\n",  # anchors
    "<<: {a: 1}\nb: 2\n",  # merge keys
    "=: 1\n",  # value keys
    "a: 2024-01-01\n",  # timestamps
    "a: !!str 1\n",  # explicit tags
    "a: !!binary aGVsbG8=\n",
    "a: !!set {x}\n",
    "a: !custom x\n",
    "--- 1\n--- 2\n",  # two documents
    "? [1]\n: 2\n",  # an unhashable key
    "{a: 1\n",  # a syntax error
    "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1),  # too deep
]


@pytest.mark.parametrize("text", PLAIN)
def test_plain_documents_are_read_in_one_pass_as_the_safe_loader_reads_them(text: str) -> None:
    fast = _plain_data(text, Loader, max_nodes=10_000)
    assert fast is not _UNUSUAL
    assert same(fast, yaml.load(text, Loader=LOADER))


@pytest.mark.parametrize("text", DECLINED)
def test_anything_else_is_left_to_the_full_reader(text: str) -> None:
    assert _plain_data(text, Loader, max_nodes=10_000) is _UNUSUAL


def test_more_values_than_the_bound_are_left_to_the_full_reader() -> None:
    text = "".join(f"k{i}: v\n" for i in range(10))
    assert _plain_data(text, Loader, max_nodes=21) is not _UNUSUAL  # the mapping and 20
    assert _plain_data(text, Loader, max_nodes=20) is _UNUSUAL
    with pytest.raises(InputFileError, match="more than 20 values"):
        load_yaml(text, path=Path("x.yml"), error=InputFileError, round_trip=False, max_nodes=20)


def test_a_changed_loader_is_left_to_the_full_reader() -> None:
    class Changed(LOADER):  # type: ignore[misc,valid-type]
        pass

    Changed.add_constructor("tag:yaml.org,2002:int", lambda loader, node: "int!")
    assert _plain_data("a: 1\n", Changed, max_nodes=10) is _UNUSUAL
    assert _plain_data("a: 1\n", Loader, max_nodes=10) == {"a": 1}


def test_a_big_answers_file_takes_the_one_pass_reader() -> None:
    from msgen.domain.syntax import parse_entities
    from msgen.domain.view import template_entities

    entities = {
        f"Thing{index}": {
            "fields": {
                "title": "str",
                "quantity": "int?",
                "price": "decimal",
                "state": "enum(draft, open) = draft",
                "seen_at": "datetime?",
                **({"parent": f"ref(Thing{index - 1})"} if index else {}),
            }
        }
        for index in range(4)
    }
    answers = {"entities": template_entities(parse_entities(entities)), "db": "sqlite"}
    text = yaml.dump(answers, Dumper=yaml.Dumper, indent=4, default_flow_style=False)
    assert check(text, max_nodes=100_000) is not None


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["yes", "off", "~", "0x10", "010", "1:20", "1e5", ".5", "-", "=", "<<"]),
)
data = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.one_of(st.text(max_size=6), st.integers(), st.booleans()), inner, max_size=4
        ),
    ),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=data, flow=st.sampled_from([None, True, False]), indent=st.sampled_from([2, 4]))
def test_any_dumped_data_reads_the_same(value: Any, flow: bool | None, indent: int) -> None:
    text = yaml.safe_dump(value, default_flow_style=flow, indent=indent, allow_unicode=True)
    check(text)


TOKENS = st.sampled_from(
    [
        "a",
        "b:",
        " ",
        "\n",
        "- ",
        "? ",
        ": ",
        "[",
        "]",
        "{",
        "}",
        ",",
        "'",
        '"',
        "#",
        "|",
        ">",
        "&x ",
        "*x",
        "!!str ",
        "! ",
        "---\n",
        "...\n",
        "1",
        "0x1",
        "~",
        "yes",
        "=",
        "<<",
        "  ",
        "\t",
    ]
)


@settings(max_examples=500, deadline=None)
@given(parts=st.lists(TOKENS, max_size=30))
def test_any_text_is_declined_or_read_the_same(parts: list[str]) -> None:
    check("".join(parts))
