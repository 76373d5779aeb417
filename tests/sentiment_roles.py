"""The roles file that job tests copy into their folders: one short real-model role.

Not tests. Read as text by tests that write it beside their input, as a user's
roles file would be.
"""

from pydantic import BaseModel, Field

import smallagents


class Sentiment(BaseModel):
    label: str = Field(pattern="^(positive|negative|neutral)$")


@smallagents.role(max_tokens=24)
def sentiment(text: str) -> Sentiment:
    """Classify the sentiment of this text as positive, negative or neutral: {text}"""
