"""Per-field confidence: token spans, leaf spans and their combination, on hand-made tokens."""

from __future__ import annotations

import math

import pytest

from smallagents.structured.confidence import field_confidence, leaf_spans, token_char_spans


def _spans_of(pieces: list[str]) -> tuple[tuple[int, int], ...]:
    return token_char_spans([piece.encode() for piece in pieces])


def test_leaf_spans_cover_every_leaf_with_its_path() -> None:
    text = ' {"a":1,"b":[true,"x",{}],"c":{"d":null},"e":"q\\"r"}'
    leaves = {
        ".".join(map(str, path)): (text[a:b], is_string)
        for path, (a, b), is_string in leaf_spans(text)
    }
    assert leaves == {
        "a": ("1", False),
        "b.0": ("true", False),
        "b.1": ('"x"', True),
        "b.2": ("{}", False),
        "c.d": ("null", False),
        "e": ('"q\\"r"', True),
    }
    assert leaf_spans("7") == [((), (0, 1), False)]
    with pytest.raises(ValueError):
        leaf_spans('{"a":1} x')


def test_token_spans_follow_the_bytes_and_split_characters_lie_in_both_tokens() -> None:
    assert _spans_of([' {"', "ab", '"}']) == ((0, 3), (3, 5), (5, 7))
    # 'é' is two bytes written by two tokens: both overlap its one character.
    spans = token_char_spans([b' {"', b"\xc3", b'\xa9"}'], skip_chars=1)
    assert spans == ((0, 2), (2, 3), (2, 5))
    assert '{"é"}'[2] == "é"


def test_a_choice_is_the_product_and_a_free_string_the_mean() -> None:
    pieces = ['{"', 'verdict":"', "ye", 's",', '"why":"', "because", " it", ' is"}']
    logprobs = [0.0, 0.0, math.log(0.5), math.log(0.8), 0.0, math.log(0.4), math.log(0.6), 0.0]
    text = "".join(pieces)
    schema = {
        "type": "object",
        "properties": {"verdict": {"enum": ["yes", "no"]}, "why": {"type": "string"}},
    }
    confidence = field_confidence(text, _spans_of(pieces), logprobs, schema)
    # verdict: tokens 'verdict":"' (overlaps the opening quote), 'ye', 's",'
    assert confidence["verdict"] == pytest.approx(0.5 * 0.8)
    # why: '"why":"' (opening quote), 'because', ' it', ' is"}' -> mean of 1, .4, .6, 1
    assert confidence["why"] == pytest.approx((1 + 0.4 + 0.6 + 1) / 4)
    # Without the schema the enum is just a string: the mean of its three tokens.
    assert field_confidence(text, _spans_of(pieces), logprobs)["verdict"] == pytest.approx(
        (1 + 0.5 + 0.8) / 3
    )


def test_numbers_nested_paths_refs_and_anyof() -> None:
    pieces = ['{"calls":[{"name":"', "get", '_weather","arguments":{"n":', "1", "2", "}}]}"]
    logprobs = [0.0, math.log(0.9), math.log(0.5), math.log(0.7), math.log(0.2), 0.0]
    schema = {
        "$defs": {"Name": {"anyOf": [{"const": "get_weather"}, {"const": "get_time"}]}},
        "type": "object",
        "properties": {
            "calls": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "name": {"$ref": "#/$defs/Name"},
                        "arguments": {"type": "object"},
                    },
                },
            }
        },
    }
    text = "".join(pieces)
    confidence = field_confidence(text, _spans_of(pieces), logprobs, schema)
    assert confidence["calls.0.name"] == pytest.approx(1.0 * 0.9 * 0.5)  # a const: the product
    assert confidence["calls.0.arguments.n"] == pytest.approx(0.7 * 0.2)
    assert set(confidence) == {"calls.0.name", "calls.0.arguments.n"}


def test_mismatched_or_non_json_input_gives_no_confidence() -> None:
    assert field_confidence("{", ((0, 1),), (0.0,)) == {}
    assert field_confidence("1", ((0, 1),), ()) == {}
    assert field_confidence("1", (), ()) == {}
