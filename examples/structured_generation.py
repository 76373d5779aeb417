"""Structured generation on the embedded default model: a validated pydantic object."""

from __future__ import annotations

from pydantic import BaseModel, Field

import smallagents


class Verdict(BaseModel):
    label: str = Field(pattern="^(positive|negative)$")
    confidence: int = Field(ge=1, le=5)


def main() -> Verdict:
    model = smallagents.load_model()  # SmolLM2-135M-Instruct, embedded
    generation = model.generate(
        "Is 'I loved this film' positive or negative?",
        schema=Verdict,
        temperature=0.7,
        seed=1,
    )
    print(generation.value, f"({generation.completion_tokens} tokens, {generation.seconds:.2f} s)")
    return generation.value


if __name__ == "__main__":
    main()
