"""Build ``examples/judge_pairs.jsonl``: instruction/response pairs labeled accept or reject.

Our own data (the project's licence), written for measuring judges: every fact
below is one we are sure of (arithmetic and unit conversions are computed here,
every Python snippet is run here and its claimed result checked, capitals and
definitions are textbook facts). Each *group* is one fact with a good pair and
one bad twin; the bad kinds rotate over the groups:

* ``wrong_answer``: the same instruction, answered wrongly (a wrong number, the
  wrong city, code that fails or does something else), fluently written;
* ``off_topic``: the instruction answered with another group's (correct) response;
* ``statement``: the "instruction" is a statement of the fact, not a request;
* ``truncated``: the good response cut off mid-sentence;
* ``repetitive``: a response that loops on one sentence or one phrase;
* ``restates_question``: a response that only repeats or rephrases the question.

Both pairs of a group share its ``split``: ``test`` for groups 1 and 3 of every 5
(40%, held out from all tuning), ``dev`` for the rest, so a judge tuned on dev has
seen neither the fact nor its twin of a test pair.

Run ``python -m benchmarks judge_pairs`` to rewrite the file;
``--check`` only verifies that the file is what this script writes
(``tests/test_judge_pairs.py`` does both checks).
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass
from pathlib import Path

from benchmarks._common import Result

OUTPUT = Path(__file__).resolve().parents[1] / "examples" / "judge_pairs.jsonl"

BAD_KINDS = (
    "wrong_answer",
    "off_topic",
    "wrong_answer",
    "statement",
    "truncated",
    "wrong_answer",
    "repetitive",
    "restates_question",
)
"""The bad twin's kind, in turn over the groups (a wrong answer 3 times in 8)."""


@dataclass(frozen=True)
class Fact:
    """One group: a request, a correct response, a fluent wrong one, the fact as a statement."""

    domain: str
    instruction: str
    good: str
    wrong: str
    statement: str
    note: str = ""


# --- arithmetic and unit conversions: computed --------------------------------------------


def arithmetic() -> list[Fact]:
    facts = []
    for a, b in ((17, 25), (48, 39), (125, 376), (64, 57), (903, 198)):
        total = a + b
        facts.append(
            Fact(
                "arithmetic",
                f"What is {a} + {b}?",
                f"{a} + {b} = {total}.",
                f"{a} + {b} = {total + 10}.",
                f"{a} plus {b} equals {total}.",
                f"{a} + {b} is {total}",
            )
        )
    for a, b in ((12, 7), (15, 15), (23, 4), (9, 8)):
        product = a * b
        facts.append(
            Fact(
                "arithmetic",
                f"Calculate {a} times {b}.",
                f"{a} times {b} is {product}.",
                f"{a} times {b} is {product + b}.",
                f"{a} multiplied by {b} is {product}.",
                f"{a} x {b} is {product}",
            )
        )
    for a, b in ((100, 37), (82, 45), (1000, 1)):
        facts.append(
            Fact(
                "arithmetic",
                f"What do you get if you subtract {b} from {a}?",
                f"Subtracting {b} from {a} gives {a - b}.",
                f"Subtracting {b} from {a} gives {a - b - 2}.",
                f"{a} minus {b} is {a - b}.",
                f"{a} - {b} is {a - b}",
            )
        )
    for a, b in ((144, 12), (96, 8)):
        facts.append(
            Fact(
                "arithmetic",
                f"Divide {a} by {b}.",
                f"{a} divided by {b} is {a // b}.",
                f"{a} divided by {b} is {a // b + 1}.",
                f"{a} divided by {b} equals {a // b}.",
                f"{a} / {b} is {a // b}",
            )
        )
    return facts


def _number(value: float) -> str:
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def conversions() -> list[Fact]:
    facts = []
    rows = (
        # (amount, from, to, factor, how)
        (5, "kilometres", "metres", 1000, "A kilometre is 1,000 metres"),
        (3, "hours", "minutes", 60, "An hour has 60 minutes"),
        (2.5, "kilograms", "grams", 1000, "A kilogram is 1,000 grams"),
        (4, "feet", "inches", 12, "A foot is 12 inches"),
        (10, "inches", "centimetres", 2.54, "An inch is exactly 2.54 centimetres"),
        (7, "days", "hours", 24, "A day has 24 hours"),
        (3, "litres", "millilitres", 1000, "A litre is 1,000 millilitres"),
        (2, "miles", "kilometres", 1.609344, "A mile is about 1.609 kilometres"),
        (90, "minutes", "hours", 1 / 60, "An hour has 60 minutes"),
    )
    for amount, unit, target, factor, how in rows:
        value = amount * factor
        wrong = value * 10 if factor >= 1 else value / 10
        shown = _number(round(value, 2))
        approx = "about " if round(value, 2) != value else ""
        facts.append(
            Fact(
                "unit conversion",
                f"Convert {_number(amount)} {unit} to {target}.",
                f"{how}, so {_number(amount)} {unit} is {approx}{shown} {target}.",
                f"{how}, so {_number(amount)} {unit} is {approx}{_number(round(wrong, 2))} "
                f"{target}.",
                f"{_number(amount)} {unit} is {approx}{shown} {target}.",
                f"{_number(amount)} {unit} = {shown} {target}",
            )
        )
    for celsius in (100, 25, -40):
        fahrenheit = celsius * 9 / 5 + 32
        facts.append(
            Fact(
                "unit conversion",
                f"How many degrees Fahrenheit is {celsius} degrees Celsius?",
                f"Multiply by 9/5 and add 32: {celsius} °C is {_number(fahrenheit)} °F.",
                f"Multiply by 9/5 and add 32: {celsius} °C is {_number(fahrenheit + 18)} °F.",
                f"{celsius} degrees Celsius is {_number(fahrenheit)} degrees Fahrenheit.",
                f"{celsius} °C = {_number(fahrenheit)} °F",
            )
        )
    return facts


# --- capitals and other facts: textbook ---------------------------------------------------

CAPITALS = (
    # (country, capital, a wrong city of the same country)
    ("Australia", "Canberra", "Sydney"),
    ("Canada", "Ottawa", "Toronto"),
    ("Brazil", "Brasília", "Rio de Janeiro"),
    ("Turkey", "Ankara", "Istanbul"),
    ("Japan", "Tokyo", "Osaka"),
    ("Egypt", "Cairo", "Alexandria"),
    ("Kenya", "Nairobi", "Mombasa"),
    ("Switzerland", "Bern", "Zurich"),
    ("Morocco", "Rabat", "Casablanca"),
    ("New Zealand", "Wellington", "Auckland"),
    ("Spain", "Madrid", "Barcelona"),
    ("Vietnam", "Hanoi", "Ho Chi Minh City"),
    ("Nigeria", "Abuja", "Lagos"),
    ("Norway", "Oslo", "Bergen"),
)


def capitals() -> list[Fact]:
    facts = []
    for index, (country, capital, wrong) in enumerate(CAPITALS):
        instruction = (
            f"What is the capital of {country}?"
            if index % 2 == 0
            else f"Name the capital city of {country}."
        )
        facts.append(
            Fact(
                "geography",
                instruction,
                f"The capital of {country} is {capital}.",
                f"The capital of {country} is {wrong}, its best-known city.",
                f"The capital of {country} is {capital}.",
                f"the capital of {country} is {capital}, not {wrong}",
            )
        )
    return facts


FACTS = (
    Fact(
        "geography",
        "What is the largest island in the world?",
        "Greenland is the largest island in the world (Australia counts as a continent).",
        "New Zealand is the largest island in the world.",
        "Greenland is the world's largest island.",
        "Greenland",
    ),
    Fact(
        "geography",
        "Which is the longest river in Africa?",
        "The Nile is the longest river in Africa, at about 6,650 km.",
        "The Congo is the longest river in Africa, at about 6,650 km.",
        "The Nile is Africa's longest river.",
        "the Nile",
    ),
    Fact(
        "geography",
        "What is the tallest mountain on Earth above sea level?",
        "Mount Everest, at about 8,849 metres above sea level.",
        "K2, at about 8,849 metres above sea level.",
        "Mount Everest is the highest mountain above sea level.",
        "Everest (K2 is second)",
    ),
    Fact(
        "geography",
        "How many continents are there?",
        "By the most common convention there are seven continents: Africa, Antarctica, "
        "Asia, Australia, Europe, North America and South America.",
        "There are five continents: Africa, Asia, Australia, Europe and America.",
        "There are seven continents.",
        "seven by the usual convention",
    ),
    Fact(
        "geography",
        "Which ocean is the largest?",
        "The Pacific Ocean is the largest ocean, covering about a third of Earth's surface.",
        "The Atlantic Ocean is the largest ocean, covering about a third of Earth's surface.",
        "The Pacific is the largest ocean on Earth.",
        "the Pacific",
    ),
    Fact(
        "science",
        "What is the chemical symbol for gold?",
        "The chemical symbol for gold is Au, from the Latin word aurum.",
        "The chemical symbol for gold is Ag, from the Latin word argentum.",
        "Gold has the chemical symbol Au.",
        "Au (Ag is silver)",
    ),
    Fact(
        "science",
        "At what temperature does water boil at sea level?",
        "At sea level, water boils at 100 degrees Celsius (212 degrees Fahrenheit).",
        "At sea level, water boils at 90 degrees Celsius (194 degrees Fahrenheit).",
        "Water boils at 100 °C at sea level.",
        "100 °C",
    ),
    Fact(
        "science",
        "Which planet is closest to the Sun?",
        "Mercury is the planet closest to the Sun.",
        "Venus is the planet closest to the Sun.",
        "Mercury is the closest planet to the Sun.",
        "Mercury",
    ),
    Fact(
        "science",
        "What is the largest planet in our solar system?",
        "Jupiter is the largest planet in our solar system, more than eleven times as wide "
        "as Earth.",
        "Saturn is the largest planet in our solar system, more than eleven times as wide "
        "as Earth.",
        "Jupiter is the largest planet in the solar system.",
        "Jupiter",
    ),
    Fact(
        "science",
        "How many planets are in our solar system?",
        "There are eight planets: Mercury, Venus, Earth, Mars, Jupiter, Saturn, Uranus and "
        "Neptune.",
        "There are nine planets: Mercury, Venus, Earth, Mars, Jupiter, Saturn, Uranus, "
        "Neptune and the Moon.",
        "Our solar system has eight planets.",
        "eight (Pluto is a dwarf planet; the Moon is no planet)",
    ),
    Fact(
        "science",
        "What gas do plants take in from the air for photosynthesis?",
        "Plants take in carbon dioxide and, using sunlight and water, turn it into sugar "
        "and oxygen.",
        "Plants take in oxygen and, using sunlight and water, turn it into sugar and "
        "carbon dioxide.",
        "Plants take in carbon dioxide for photosynthesis.",
        "carbon dioxide",
    ),
    Fact(
        "science",
        "What is the chemical formula of water?",
        "The chemical formula of water is H2O: two hydrogen atoms and one oxygen atom.",
        "The chemical formula of water is HO2: one hydrogen atom and two oxygen atoms.",
        "Water's chemical formula is H2O.",
        "H2O",
    ),
    Fact(
        "science",
        "How many bones does an adult human have?",
        "An adult human skeleton has 206 bones.",
        "An adult human skeleton has 300 bones.",
        "Adults have 206 bones.",
        "206 (babies have about 300, which fuse)",
    ),
    Fact(
        "science",
        "At what temperature does water freeze, in degrees Celsius?",
        "Pure water freezes at 0 degrees Celsius at normal pressure.",
        "Pure water freezes at 10 degrees Celsius at normal pressure.",
        "Water freezes at 0 °C.",
        "0 °C",
    ),
    Fact(
        "definitions",
        "What is a prime number?",
        "A prime number is a whole number greater than 1 whose only divisors are 1 and "
        "itself, such as 2, 3, 5 and 7.",
        "A prime number is any odd number, such as 1, 9, 15 and 21.",
        "A prime number has exactly two divisors, 1 and itself.",
        "9, 15 and 21 are not prime; 1 is not prime",
    ),
    Fact(
        "definitions",
        "What does CPU stand for?",
        "CPU stands for central processing unit, the part of a computer that runs "
        "programs' instructions.",
        "CPU stands for computer power unit, the part of a computer that supplies electricity.",
        "CPU stands for central processing unit.",
        "central processing unit",
    ),
    Fact(
        "definitions",
        "Explain what a mammal is.",
        "A mammal is a warm-blooded animal with hair or fur that feeds its young with milk; "
        "dogs, whales and humans are mammals.",
        "A mammal is a cold-blooded animal with scales that lays eggs in water; sharks "
        "and frogs are mammals.",
        "Mammals are warm-blooded animals that feed their young with milk.",
        "sharks and frogs are not mammals",
    ),
    Fact(
        "definitions",
        "What is the difference between weather and climate?",
        "Weather is the state of the air at one place and time; climate is the pattern of "
        "weather in a region over many years.",
        "Weather and climate mean the same thing: the temperature on a given day.",
        "Weather is short-term and climate is long-term.",
        "they are not the same",
    ),
    Fact(
        "definitions",
        "What is a noun?",
        "A noun is a word that names a person, place, thing or idea, such as teacher, "
        "Paris, chair or freedom.",
        "A noun is a word that describes an action, such as run, swim or think.",
        "A noun names a person, place, thing or idea.",
        "run, swim and think are verbs",
    ),
    Fact(
        "definitions",
        "Define the word 'perimeter'.",
        "The perimeter is the total length of the boundary of a shape; a square with sides "
        "of 3 cm has a perimeter of 12 cm.",
        "The perimeter is the area inside a shape; a square with sides of 3 cm has a "
        "perimeter of 9 square cm.",
        "A perimeter is the length around a shape.",
        "that is the area",
    ),
    Fact(
        "history",
        "Who wrote the play Hamlet?",
        "William Shakespeare wrote Hamlet, around 1600.",
        "Charles Dickens wrote Hamlet, around 1600.",
        "Hamlet was written by William Shakespeare.",
        "Shakespeare",
    ),
    Fact(
        "history",
        "In which year did the Second World War end?",
        "The Second World War ended in 1945.",
        "The Second World War ended in 1939.",
        "The Second World War ended in 1945.",
        "1945 (1939 is when it began)",
    ),
    Fact(
        "everyday",
        "How many minutes are there in a day?",
        "A day has 24 hours of 60 minutes each, so 1,440 minutes.",
        "A day has 24 hours of 60 minutes each, so 1,240 minutes.",
        "There are 1,440 minutes in a day.",
        "24 x 60 = 1440",
    ),
    Fact(
        "everyday",
        "How many days are there in a leap year?",
        "A leap year has 366 days; February has 29 days instead of 28.",
        "A leap year has 365 days; February has 30 days instead of 28.",
        "A leap year has 366 days.",
        "366",
    ),
    Fact(
        "everyday",
        "Tell me how many sides a hexagon has.",
        "A hexagon has six sides.",
        "A hexagon has eight sides.",
        "A hexagon has six sides.",
        "six (an octagon has eight)",
    ),
)


# --- Python: every claim is run ----------------------------------------------------------


@dataclass(frozen=True)
class Snippet:
    """A Python question; ``good_check`` must equal ``good_value``, and ``wrong_check``
    must either fail to run or differ from ``wrong_claim`` (what the wrong response says)."""

    instruction: str
    good: str
    good_check: str
    good_value: object
    wrong: str
    wrong_check: str
    wrong_claim: object
    statement: str


SNIPPETS = (
    Snippet(
        "How can I reverse a string in Python?",
        "Use slicing with a step of -1: 'hello'[::-1] returns 'olleh'.",
        "'hello'[::-1]",
        "olleh",
        "Use slicing with a step of 1: 'hello'[::1] returns 'olleh'.",
        "'hello'[::1]",
        "olleh",
        "In Python, 'hello'[::-1] reverses the string.",
    ),
    Snippet(
        "How do I remove duplicates from a Python list but keep the order?",
        "Use list(dict.fromkeys(my_list)); for example list(dict.fromkeys([3, 1, 3, 2, 1])) "
        "gives [3, 1, 2].",
        "list(dict.fromkeys([3, 1, 3, 2, 1]))",
        [3, 1, 2],
        "Use del set(my_list); it removes the duplicates from my_list in place.",
        "exec('my_list = [3, 1, 3]\\ndel set(my_list)')",
        None,
        "list(dict.fromkeys(my_list)) removes duplicates from a list and keeps the order.",
    ),
    Snippet(
        "How do I sort a list of numbers in descending order in Python?",
        "Use sorted(numbers, reverse=True); sorted([3, 1, 2], reverse=True) gives [3, 2, 1].",
        "sorted([3, 1, 2], reverse=True)",
        [3, 2, 1],
        "Use sorted(numbers, descending=True); sorted([3, 1, 2], descending=True) gives [3, 2, 1].",
        "sorted([3, 1, 2], descending=True)",
        [3, 2, 1],
        "sorted(numbers, reverse=True) sorts a list from largest to smallest.",
    ),
    Snippet(
        "How do I join a list of strings with commas in Python?",
        "Call join on the separator: ', '.join(['a', 'b', 'c']) returns 'a, b, c'.",
        "', '.join(['a', 'b', 'c'])",
        "a, b, c",
        "Call join on the list: ['a', 'b', 'c'].join(', ') returns 'a, b, c'.",
        "['a', 'b', 'c'].join(', ')",
        "a, b, c",
        "', '.join(words) joins a list of strings with commas.",
    ),
    Snippet(
        "What does 7 // 2 evaluate to in Python?",
        "7 // 2 is floor division and evaluates to 3.",
        "7 // 2",
        3,
        "7 // 2 is ordinary division and evaluates to 3.5.",
        "7 // 2",
        3.5,
        "In Python, 7 // 2 evaluates to 3.",
    ),
    Snippet(
        "How do I turn the string '42' into an integer in Python?",
        "Use int: int('42') returns the integer 42.",
        "int('42')",
        42,
        "Use the string's to_int method: '42'.to_int() returns the integer 42.",
        "'42'.to_int()",
        42,
        "int('42') converts the string to the integer 42.",
    ),
    Snippet(
        "How do I check whether a key is in a Python dictionary?",
        "Use the in operator: 'a' in {'a': 1} is True.",
        "'a' in {'a': 1}",
        True,
        "Use the has_key method: {'a': 1}.has_key('a') is True.",
        "{'a': 1}.has_key('a')",
        True,
        "The in operator tells whether a key is in a dictionary.",
    ),
    Snippet(
        "How do I get the last element of a Python list?",
        "Index it with -1: [10, 20, 30][-1] is 30.",
        "[10, 20, 30][-1]",
        30,
        "Index it with 0: [10, 20, 30][0] is 30.",
        "[10, 20, 30][0]",
        30,
        "my_list[-1] is the last element of a list.",
    ),
    Snippet(
        "How do I make a string all uppercase in Python?",
        "Call upper: 'hello'.upper() returns 'HELLO'.",
        "'hello'.upper()",
        "HELLO",
        "Call capitalize: 'hello'.capitalize() returns 'HELLO'.",
        "'hello'.capitalize()",
        "HELLO",
        "'hello'.upper() returns the string in capital letters.",
    ),
    Snippet(
        "Which numbers does list(range(1, 5)) give in Python?",
        "It gives [1, 2, 3, 4]: range stops before its end value.",
        "list(range(1, 5))",
        [1, 2, 3, 4],
        "It gives [1, 2, 3, 4, 5]: range includes its end value.",
        "list(range(1, 5))",
        [1, 2, 3, 4, 5],
        "list(range(1, 5)) gives the numbers 1 to 4.",
    ),
    Snippet(
        "How do I compute a square root in Python?",
        "Use math.sqrt after import math: math.sqrt(16) returns 4.0.",
        "math.sqrt(16)",
        4.0,
        "Raise it to the power 2: 16 ** 2 returns the square root of 16, 4.",
        "16 ** 2",
        4,
        "math.sqrt(16) returns 4.0.",
    ),
    Snippet(
        "How do I count how often a value appears in a Python list?",
        "Use the list's count method: [1, 2, 1, 1].count(1) returns 3.",
        "[1, 2, 1, 1].count(1)",
        3,
        "Use len with the value: len([1, 2, 1, 1], 1) returns 3.",
        "len([1, 2, 1, 1], 1)",
        3,
        "my_list.count(x) counts how often x appears in a list.",
    ),
    Snippet(
        "How do I round 3.14159 to two decimal places in Python?",
        "Use round: round(3.14159, 2) returns 3.14.",
        "round(3.14159, 2)",
        3.14,
        "Use round: round(3.14159, 2) returns 3.1.",
        "round(3.14159, 2)",
        3.1,
        "round(3.14159, 2) is 3.14.",
    ),
)


def _run(expression: str) -> tuple[bool, object]:
    """(ran, value) of a snippet; ``exec(...)`` snippets run as statements."""
    try:
        return True, eval(expression, {"math": math})  # our own fixed snippets, never model text
    except Exception:  # any failure: the code does not work
        return False, None


def python_facts() -> list[Fact]:
    facts = []
    for snippet in SNIPPETS:
        ran, value = _run(snippet.good_check)
        if not ran or value != snippet.good_value:
            raise SystemExit(f"good snippet wrong: {snippet.good_check} -> {value!r}")
        ran, value = _run(snippet.wrong_check)
        if ran and value == snippet.wrong_claim:
            raise SystemExit(f"wrong snippet is right: {snippet.wrong_check} -> {value!r}")
        outcome = f"{snippet.wrong_check} gives {value!r}" if ran else "it does not run"
        facts.append(
            Fact(
                "programming",
                snippet.instruction,
                snippet.good,
                snippet.wrong,
                snippet.statement,
                f"{snippet.good_check} gives {snippet.good_value!r}; in the wrong one {outcome}",
            )
        )
    return facts


# --- the bad twins -------------------------------------------------------------------------


CONNECTORS = frozenset(("a", "an", "the", "of", "is", "to", "for", "and", "with", "so"))
CONNECTORS |= {"at", "in", "by", "+", "="}


def truncate(text: str) -> str:
    """``text`` cut off mid-sentence before about 60% of its words.

    The cut falls after a connecting word ("of", "is", "the", "+" ...) so that the
    text plainly stops in the middle; with none, in the middle of a word.
    """
    words = text.split()
    limit = max(2, min(len(words) - 1, round(len(words) * 0.6)))
    for cut in range(limit, 1, -1):
        if words[cut - 1].lower() in CONNECTORS:
            return " ".join(words[:cut])
    last = words[limit - 1]
    return " ".join([*words[: limit - 1], last[: max(2, len(last) // 2)]])


def repeat(text: str, index: int) -> str:
    """A response that loops: its first sentence again and again, or its last words."""
    first = text.split(". ")[0].rstrip(".") + "."
    if index % 2 == 0:
        return " ".join([first] * 4)
    tail = " ".join(first.rstrip(".").split()[-2:])
    return f"{first.rstrip('.')} {' '.join([tail] * 9)}"


RESTATEMENTS = (
    "{instruction}",
    "You are asking: {instruction}",
    "{instruction} That is the question, and it is a good question to ask.",
)


def bad_twin(kind: str, fact: Fact, index: int, facts: list[Fact]) -> dict[str, str]:
    if kind == "wrong_answer":
        return {"instruction": fact.instruction, "response": fact.wrong}
    if kind == "off_topic":
        # Another group's correct answer, from another domain.
        for step in range(7, len(facts) + 7):
            other = facts[(index + step) % len(facts)]
            if other.domain != fact.domain:
                return {"instruction": fact.instruction, "response": other.good}
        raise AssertionError("no other domain")
    if kind == "statement":
        replies = (fact.good, "Yes, that is correct.", f"That is right: {fact.good}")
        return {"instruction": fact.statement, "response": replies[index % 3]}
    if kind == "truncated":
        return {"instruction": fact.instruction, "response": truncate(fact.good)}
    if kind == "repetitive":
        turn = index // len(BAD_KINDS)
        return {"instruction": fact.instruction, "response": repeat(fact.good, turn)}
    if kind == "restates_question":
        template = RESTATEMENTS[index % len(RESTATEMENTS)]
        return {
            "instruction": fact.instruction,
            "response": template.format(instruction=fact.instruction),
        }
    raise AssertionError(kind)


def all_facts() -> list[Fact]:
    # Interleaved by domain so that the kinds and splits spread over every domain.
    groups = [arithmetic(), conversions(), capitals(), list(FACTS), python_facts()]
    facts: list[Fact] = []
    while any(groups):
        for group in groups:
            if group:
                facts.append(group.pop(0))
    return facts


def build() -> list[dict[str, object]]:
    facts = all_facts()
    pairs: list[dict[str, object]] = []
    for index, fact in enumerate(facts):
        group = f"g{index + 1:03d}"
        split = "test" if index % 5 in (1, 3) else "dev"
        kind = BAD_KINDS[index % len(BAD_KINDS)]
        bad = bad_twin(kind, fact, index, facts)
        common = {"group": group, "domain": fact.domain, "split": split}
        pairs.append(
            {
                "id": f"{group}-good",
                "instruction": fact.instruction,
                "response": fact.good,
                "label": "accept",
                "kind": "good",
                **common,
            }
        )
        pairs.append(
            {
                "id": f"{group}-bad",
                **bad,
                "label": "reject",
                "kind": kind,
                **common,
                **({"note": f"correct: {fact.note}"} if kind == "wrong_answer" else {}),
            }
        )
    return pairs


def render(pairs: list[dict[str, object]]) -> str:
    return "".join(json.dumps(pair, ensure_ascii=False) + "\n" for pair in pairs)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--check`` (compare only) and ``--output``."""
    parser.add_argument("--check", action="store_true", help="only compare with the file")
    parser.add_argument("--output", type=Path, default=OUTPUT)


def run(args: argparse.Namespace) -> Result:
    """Write the pairs, or with ``--check`` say whether the file holds exactly them."""
    text = render(build())
    pairs = text.count(chr(10))
    if args.check:
        same = args.output.exists() and args.output.read_text(encoding="utf-8") == text
        print("up to date" if same else f"{args.output} differs: run without --check")
        return Result({"pairs": pairs, "up_to_date": same}, ok=same)
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {pairs} pairs to {args.output}")
    return Result({"pairs": pairs, "written": str(args.output)})
