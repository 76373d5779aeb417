"""The figure check: a number the reviewer's model cannot reproduce is a made-up one.

A small model's wrong details are mostly figures ("Mount Elbrus ... 17,440 meters",
"Lake Superior ... about 45,600 km²"), and the same model, asked whether the
response is true, believes them (the fact check passed 0.73 and higher on those).
What it cannot do is write them again: a figure the model knows comes back when
it answers the question a few more times at temperature, an invented one comes
back different each time (SelfCheckGPT's observation, Manakul et al., 2023,
applied to the one kind of claim that can be compared without a model). So the
solving reviewer samples a few answers of its own and rejects a response not one
of whose figures they state. One is enough to keep it: a right answer often
carries working figures the samples need not repeat ("a kilogram is 1,000 grams,
so 2.5 kilograms is 2,500 grams").
"""

import math
import re

_CODE = re.compile(r"```.*?(?:```|$)|`[^`]*`", re.DOTALL)
# A word that is code even outside backticks ("email.split('@')[1]", "x_2", "a=3",
# "range(10)"): its digits are indices and arguments, not claims.
_CODE_WORD = re.compile(r"[\[\]{}=<>_]|\w\(|[a-zA-Z]\.[a-zA-Z]")
# A list's item number ("1. Preheat the oven", "2) Mix"), not a claim.
_ENUMERATOR = re.compile(r"(?:^|(?<=\s))\d{1,2}[.)]\s+(?=[A-Z])")
# Digits not glued to a word before them (H2O, x2, utf8 are names, not figures), with
# thousands separators, decimals and a scale word.
_FIGURE = re.compile(
    r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?:\s*(thousand|million|billion|trillion)\b)?",
    re.IGNORECASE,
)
_SCALE = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}


def figures(text: str) -> list[float]:
    """The figures ``text`` states, in order, once each: digits outside code (in
    backticks, or words such as ``s.split()[1]``) and list numbering, "45,600" as
    45600, "17.1 million" as 17100000."""
    prose = " ".join(word for word in _CODE.sub(" ", text).split() if not _CODE_WORD.search(word))
    prose = _ENUMERATOR.sub(" ", prose)
    found: list[float] = []
    for whole, decimals, scale in _FIGURE.findall(prose):
        value = float(whole.replace(",", "") + decimals)
        if scale:
            value *= _SCALE[scale.lower()]
        if value not in found:
            found.append(value)
    return found


def same_figure(stated: float, written: float) -> bool:
    """Whether two figures are one: counts and years below 10,000 exactly (206 and 195
    countries, 1989 and 1991 are different answers), anything else within 1%
    ("17.1 million" and 17,075,200 km² are one)."""
    if stated.is_integer() and written.is_integer() and max(stated, written) < 10_000:
        return stated == written
    return math.isclose(stated, written, rel_tol=0.01)


def unreproduced(response: str, answers: list[str]) -> list[float]:
    """The figures of ``response`` that none of ``answers`` states."""
    written = [figure for answer in answers for figure in figures(answer)]
    return [
        stated
        for stated in figures(response)
        if not any(same_figure(stated, other) for other in written)
    ]


def show(figure: float) -> str:
    """A figure as a person writes it: 45600.0 -> "45,600", 2.5 -> "2.5"."""
    return f"{figure:,.0f}" if figure.is_integer() else f"{figure:,}"
