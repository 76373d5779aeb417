"""What a unit's final state becomes: job records, rejects with the reason, and de-duplication."""

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from smallagents import UnitResult
from smallagents.dedupe import DEFAULT_THRESHOLD, Duplicate, NearDuplicateIndex, normalize

from ._nodes import current_reviews
from ._roles import roles


def to_records(
    output: Mapping[str, Any], seed: Mapping[str, Any], unit_id: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One output record for an accepted or revised pair, or one reject with its reason."""
    decision = output["decision"]
    pair = decision.get("pair") or output["pair"]
    record: dict[str, Any] = {
        "id": unit_id,
        "instruction": pair["instruction"],
        "response": pair["response"],
        "reviews": [
            {key: value for key, value in review.items() if key != "round"}
            for review in current_reviews(output)
        ],
        "verdict": decision["verdict"],
        "adjudicated": decision["adjudicated"],
        "disagreement": output.get("disagreement"),
        "rationale": decision["rationale"],
        "refined": output.get("round", 0) > 0,
        "checks": list(output.get("checks", [])),
    }
    if output.get("draws"):  # generated: how many drafts the Generator wrote
        record["drafts"] = output["draws"]
    if decision["verdict"] == "revise":
        record["draft"] = dict(output["pair"])
    if decision["verdict"] == "reject":
        return [], [{**record, "reason": decision["reason"]}]
    return [record], []


PROVENANCE = ("seed_id", "escalated", "models")
"""Fields every job record gets from `smallagents.GraphPipeline`."""


def curated_records(
    output: Mapping[str, Any], pair: Mapping[str, Any], unit_id: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """`to_records` for ``gra-curate``: the input's own other fields are kept
    (those that do not clash with the record's), and a revised or refined pair keeps
    the input's text as ``original``."""
    outputs, rejects = to_records(output, pair, unit_id)
    for record in outputs + rejects:
        for key, value in pair.items():
            if key not in record and key not in PROVENANCE and key not in ("draft", "reason"):
                record[key] = value
        record.pop("draft", None)
        original = {"instruction": pair["instruction"], "response": pair["response"]}
        if (record["instruction"], record["response"]) != tuple(original.values()):
            record["original"] = original
    return outputs, rejects


def pair_text(record: Mapping[str, Any]) -> str:
    """The text de-duplication compares: instruction and response."""
    return f"{record.get('instruction', '')}\n{record.get('response') or ''}"


class PairDeduplicator:
    """Drops exact and near duplicates of the seeds, the few-shot examples, the pairs the
    user already holds and kept pairs.

    A pair is a duplicate when its normalized instruction equals one already seen
    (the same question twice, whatever the answers), or when its instruction and
    response together are an exact or near duplicate (`smallagents.dedupe.NearDuplicateIndex`
    at ``threshold``) of a seed, a few-shot example, or a pair kept earlier in the
    job. Instructions alone are compared exactly only: on texts of ten words one
    changed word moves the similarity by 0.3.

    The hooks run in the job's writer thread: `seeds` and `start` rebuild
    the index from the job's inputs and its output so far (a resumed job knows what
    it kept before), and `finish_unit` moves duplicates to the rejects.

    Args:
        threshold: near-duplicate threshold (estimated Jaccard of word bigrams).
        examples: pairs that count as seen before any seed (the Generator's few-shot
            examples, which a small model may copy).
        earlier: pairs the user already holds (gra's ``avoid`` files), each under the
            name a duplicate's reason gives it (``old.jsonl line 3``).
    """

    def __init__(
        self,
        threshold: float = DEFAULT_THRESHOLD,
        examples: list[dict[str, str]] | None = None,
        earlier: Sequence[tuple[str, Mapping[str, Any]]] = (),
    ) -> None:
        self.threshold = threshold
        self._examples = list(examples or [])
        self._earlier = list(earlier)
        self.seeds([])
        self.start([])

    def seeds(self, records: list[dict[str, Any]]) -> None:
        """Index the few-shot examples, the earlier pairs and the job's input records."""
        self._seen_pairs = NearDuplicateIndex(self.threshold)
        self._seen_instructions: dict[str, str] = {}
        named = [(f"few-shot example {i}", pair) for i, pair in enumerate(self._examples, 1)]
        for key, pair in named + self._earlier:
            self._remember(self._seen_pairs, self._seen_instructions, key, pair)
        for index, record in enumerate(records, start=1):
            own = record.get("id")
            key = f"seed {own}" if own not in (None, "") else f"seed #{index}"
            self._remember(self._seen_pairs, self._seen_instructions, key, record)

    def start(self, existing: list[dict[str, Any]]) -> None:
        """Index the records the job already kept."""
        self._kept_pairs = NearDuplicateIndex(self.threshold)
        self._kept_instructions: dict[str, str] = {}
        for record in existing:
            self._remember(
                self._kept_pairs, self._kept_instructions, f"record {record.get('id')}", record
            )

    def duplicate(self, record: Mapping[str, Any]) -> str | None:
        """Why ``record`` is a duplicate (``None`` if it is new; it is then kept in the index)."""
        instruction = normalize(str(record.get("instruction", "")))
        text = pair_text(record)
        for instructions, pairs in (
            (self._seen_instructions, self._seen_pairs),
            (self._kept_instructions, self._kept_pairs),
        ):
            if instruction in instructions:
                return f"duplicate instruction of {instructions[instruction]}"
            found: Duplicate | None = pairs.find(text)
            if found is not None:
                return found.describe()
        self._remember(
            self._kept_pairs, self._kept_instructions, f"record {record.get('id')}", record
        )
        return None

    def finish_unit(self, result: UnitResult) -> UnitResult:
        """Move the duplicates among a unit's outputs to its rejects, with the reason."""
        outputs, rejects = [], list(result.rejects)
        for record in result.outputs:
            reason = self.duplicate(record)
            if reason is None:
                outputs.append(record)
            else:
                rejects.append({**record, "reason": reason})
        return replace(result, outputs=outputs, rejects=rejects)  # records, counters kept

    @staticmethod
    def _remember(
        pairs: NearDuplicateIndex,
        instructions: dict[str, str],
        key: str,
        record: Mapping[str, Any],
    ) -> None:
        instructions.setdefault(normalize(str(record.get("instruction", ""))), key)
        pairs.add(key, pair_text(record))


def few_shot_pairs() -> list[dict[str, str]]:
    """The Generator's few-shot pairs (seeds and answers), which outputs must not copy."""
    pairs: list[dict[str, str]] = []
    for example in roles()["gra_generator"].spec.examples:
        inputs = example.inputs
        pairs.append(
            {"instruction": inputs["seed_instruction"], "response": inputs["seed_response"]}
        )
        answer = example.output
        pairs.append(dict(answer.model_dump() if hasattr(answer, "model_dump") else answer))
    return pairs
