"""The free checks: what a pair fails that no model needs to read (no cost, run before review)."""

import re
from collections import Counter
from collections.abc import Mapping
from typing import Any

from smallagents.dedupe import DEFAULT_THRESHOLD, jaccard, normalize

from ._config import CHECKS


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_QUESTION_WORDS = _words(
    "what how why which who whom whose when where can could would will should is are was were "
    "do does did may might shall has have am"
)
_IMPERATIVES = _words(
    "name list give tell explain describe write convert calculate compute define compare "
    "summarize summarise translate suggest recommend show find make create help rewrite fix "
    "correct classify identify sort solve divide multiply add subtract estimate outline draft "
    "generate provide plan choose pick state count spell turn change check evaluate simplify "
    "expand rephrase paraphrase complete fill sum round reverse implement use prepare design "
    "propose offer share teach remind let please imagine consider assume suppose determine "
    "predict decide discuss analyze analyse argue brainstorm edit proofread format extract "
    "split merge remove delete replace print return read parse transform recite quote cite "
    "recall build draw cook bake boil describe detail elaborate illustrate justify prove "
    "rank rate review test verify debug refactor optimize optimise shorten lengthen keep "
    "avoid try start stop get set put take bring send call order sketch recommend "
    "answer respond reply mention"
)
_REQUEST_OPENINGS = (
    "i want", "i need", "i would like", "i d like", "i am looking for", "i m looking for",
    "i wonder", "i m wondering", "i am wondering", "help me", "can you", "could you",
    "would you", "please",
)  # fmt: skip
_CONNECTORS = _words(
    "a an the of to for and or but with by in on at from is are was were so that which as "
    "into than because if then your my their its our his her this these those"
)
_OPEN_ENDINGS = (",", ";", ":", "+", "-", "=", "(", "[", "{", "&", "/")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_STOPWORDS = _words(
    "a an the of to for and or in on at by is are was were be it this that what how why which "
    "who when where do does did can could would should will you your i me my we our"
)
_FILLER = _words(
    "question questions ask asking asked asks want wants know good great interesting answer "
    "wondering wonder like tell"
)


def is_request(instruction: str) -> bool:
    """Whether ``instruction`` asks for something: a question (a question mark, or a sentence
    opening with a question word) or a request (a sentence opening with an imperative verb,
    "please", "help me", "I want", "can you" ...)."""
    if "?" in instruction:
        return True
    for sentence in _SENTENCE.split(instruction.strip()):
        text = normalize(re.sub(r"^\s*(q|question|task|instruction)\s*:", "", sentence, flags=re.I))
        words = text.split()
        if not words:
            continue
        if words[0] in _QUESTION_WORDS or words[0] in _IMPERATIVES:
            return True
        if any(text == opening or text.startswith(opening + " ") for opening in _REQUEST_OPENINGS):
            return True
    return False


def repetition(text: str) -> str | None:
    """Why ``text`` repeats itself (``None`` if it does not): a sentence of four words or more
    twice, a run of three words three times, or one word three times in a row."""
    sentences = [normalize(s) for s in _SENTENCE.split(text.strip())]
    long_ones = Counter(s for s in sentences if len(s.split()) >= 4)
    if long_ones and max(long_ones.values()) >= 2:
        return "a sentence is repeated"
    words = normalize(text).split()
    for index in range(len(words) - 2):
        if words[index] == words[index + 1] == words[index + 2]:
            return f"the word {words[index]!r} is repeated"
    trigrams = Counter(tuple(words[i : i + 3]) for i in range(len(words) - 2))
    if trigrams and max(trigrams.values()) >= 3:
        phrase = " ".join(trigrams.most_common(1)[0][0])
        return f"the phrase {phrase!r} is repeated"
    return None


def truncation(text: str, limit: int | None = None) -> str | None:
    """Why ``text`` looks cut off (``None`` if it does not): it ends on a connecting word
    ("of", "the", "and" ...) or an open sign (a comma, a colon, "+", "(" ...), leaves a
    bracket or a code fence open, or reaches ``limit`` characters without a full stop."""
    stripped = text.rstrip()
    if not stripped:
        return "it is empty"
    ends_a_sentence = stripped.endswith((".", "!", "?", ")", "]", "}", '"', "'", "`", "»"))
    if stripped.endswith(_OPEN_ENDINGS):
        return f"it ends on {stripped[-1]!r}"
    last = normalize(stripped.split()[-1]) if not ends_a_sentence else ""
    if last in _CONNECTORS:
        return f"it ends on {last!r}"
    for opening, closing in ("()", "[]", "{}"):
        if stripped.count(opening) > stripped.count(closing):
            return f"a {opening!r} is never closed"
    if stripped.count("```") % 2:
        return "a code block is never closed"
    if limit is not None and len(stripped) >= limit and not ends_a_sentence:
        return f"it stops at the {limit}-character limit"
    return None


def restatement(instruction: str, response: str) -> bool:
    """Whether ``response`` only repeats the question: it is the instruction, or it contains
    the instruction and adds no word beyond small words and words about asking."""
    asked, answered = normalize(instruction), normalize(response)
    if not answered or answered == asked:
        return True
    if len(asked.split()) < 3 or asked not in answered:
        return False
    rest = answered.replace(asked, " ").split()
    return all(word in _STOPWORDS or word in _FILLER for word in rest)


def copies(instruction: str, seed_instruction: str, threshold: float) -> bool:
    """Whether ``instruction`` is the seed's, or a near copy (bigram Jaccard >= threshold)."""
    left, right = normalize(instruction), normalize(seed_instruction)
    return left == right or jaccard(left, right) >= threshold


def free_checks(
    instruction: str,
    response: str,
    *,
    seed: Mapping[str, Any] | None = None,
    limit: int | None = None,
    checks: tuple[str, ...] = CHECKS,
    threshold: float = DEFAULT_THRESHOLD,
) -> list[tuple[str, str]]:
    """The free checks a pair fails, as ``(check, reason)``; empty when it passes them all.

    Args:
        instruction, response: the pair.
        seed: the seed record it was generated from (``copies_seed`` needs one).
        limit: the response's length limit (a response that reaches it unfinished was cut).
        checks: which checks run (`CHECKS`).
        threshold: the near-copy threshold of ``copies_seed``.
    """
    failed: list[tuple[str, str]] = []
    if "not_a_request" in checks and not is_request(instruction):
        failed.append(("not_a_request", "the instruction is a statement, not a request"))
    if "repetitive" in checks:
        why = repetition(response) or repetition(instruction)
        if why:
            failed.append(("repetitive", f"it repeats itself ({why})"))
    if "truncated" in checks:
        why = truncation(response, limit)
        if why:
            failed.append(("truncated", f"the response looks cut off ({why})"))
    if "copies_seed" in checks and seed is not None:
        if copies(instruction, str(seed.get("instruction", "")), threshold):
            failed.append(("copies_seed", "the instruction copies the seed's"))
        elif seed.get("response") and normalize(response) == normalize(str(seed["response"])):
            failed.append(("copies_seed", "the response copies the seed's"))
    if "restates_question" in checks and restatement(instruction, response):
        failed.append(("restates_question", "the response only restates the question"))
    return failed
