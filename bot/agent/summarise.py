"""The model behind compaction: folds old turns into the rolling summary and lists
the durable facts worth keeping (memory/compaction.py calls this)."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from bot.llm.client import LLM, CallMeta
from memory.compaction import DurableFact, Summarise, SummaryRequest, SummaryResult

log = logging.getLogger(__name__)

INSTRUCTIONS = """\
You keep the running summary of a chat between people and their assistant.
Merge the summary so far with the new part of the conversation into one updated
summary: what was discussed, decided, asked and promised, open questions and
tasks, with dates when known. Keep it under 400 words; drop small talk.

Also list durable facts worth remembering long-term about the people: facts,
preferences, people in their lives, plans. Always include anything a person
explicitly asked to remember or keep. Do not list facts about this conversation
itself.

Reply with one JSON object and nothing else:
{"summary": "...", "facts": [{"kind": "fact|preference|person|plan",
  "key": "short subject, e.g. home city", "text": "the fact as one sentence",
  "person": "the speaker's name it is about (group chats)"}]}
"""

_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.MULTILINE)


def parse_reply(text: str) -> SummaryResult:
    """The model's JSON reply; plain text becomes the summary with no facts."""
    cleaned = _FENCE.sub("", text.strip())
    try:
        data: Any = json.loads(cleaned)
    except json.JSONDecodeError:
        return SummaryResult(text.strip())
    if not isinstance(data, dict) or not isinstance(data.get("summary"), str):
        return SummaryResult(text.strip())
    facts = []
    for item in data.get("facts") or []:
        if isinstance(item, dict) and isinstance(item.get("text"), str) and item["text"].strip():
            facts.append(
                DurableFact(
                    text=item["text"].strip(),
                    kind=str(item.get("kind") or "fact"),
                    key=str(item.get("key") or ""),
                    person=str(item.get("person") or ""),
                )
            )
    return SummaryResult(data["summary"], tuple(facts))


def make_summariser(llm: LLM) -> Summarise:
    """The `summarise` callback for the Compactor, using the configured model."""

    async def summarise(request: SummaryRequest) -> SummaryResult:
        kind = "group chat" if request.group else "private chat"
        prompt = (
            f"Summary so far:\n{request.previous_summary or '(none yet)'}\n\n"
            f"New part of the {kind}:\n{request.transcript}"
        )
        completion = await llm.complete(
            [{"role": "system", "content": INSTRUCTIONS}, {"role": "user", "content": prompt}],
            meta=CallMeta("compact", request.conversation_id, request.user_id),
            max_tokens=request.reply_tokens,
        )
        return parse_reply(completion.content)

    return summarise
