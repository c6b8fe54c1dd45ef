"""The implementation plan: parse the model's JSON answer, and ask once for a repair when it is broken.

Models wrap JSON in fences or prose, rename nothing but often add noise; ``parse_plan`` finds the plan
object wherever it sits and turns every defect into a ``PlanFormatError`` whose message is written for
the model, so one repair request can fix it.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import ValidationError

from coding_agent.llm.client import ChatClient
from coding_agent.models import ImplementationPlan

PLAN_FIELDS = ("steps", "files_to_create", "files_to_modify", "estimated_steps", "validation_criteria")
_FENCE = re.compile(r"```[a-zA-Z0-9_-]*\s*\n(.*?)```", re.S)
_LIST_FIELDS = ("steps", "files_to_create", "files_to_modify", "validation_criteria")


class PlanFormatError(ValueError):
    """The answer is not a usable plan; the message tells the model what to fix."""

    def __init__(self, message: str, llm_calls: int = 0) -> None:
        super().__init__(message)
        self.llm_calls = llm_calls


def _candidates(text: str) -> list[dict[str, Any]]:
    """Every JSON object in ``text``: fenced blocks first, then objects embedded in prose."""
    found: list[dict[str, Any]] = []
    decoder = json.JSONDecoder()
    sources = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    for source in sources:
        for match in re.finditer(r"\{", source):
            try:
                value, _end = decoder.raw_decode(source, match.start())
            except ValueError:
                continue
            if isinstance(value, dict):
                found.append(value)
    return found


def _as_text(item: Any) -> str:
    # Models sometimes write steps as {"step": 1, "description": "..."}: keep the words.
    if isinstance(item, dict):
        for key in ("description", "step", "title", "text", "name", "path", "file"):
            if isinstance(item.get(key), str):
                return item[key]
        return json.dumps(item)
    return str(item)


def parse_plan(text: str) -> ImplementationPlan:
    """The plan in ``text``; raises ``PlanFormatError`` with a message meant for the model."""
    if not text or not text.strip():
        raise PlanFormatError("The answer was empty. Reply with only the JSON plan object.")
    objects = _candidates(text)
    if not objects:
        raise PlanFormatError(
            "The answer contained no valid JSON object. Reply with only one JSON object with the keys "
            + ", ".join(PLAN_FIELDS)
            + ", with double-quoted strings and no trailing commas."
        )
    plan_objects = [o for o in objects if "steps" in o]
    if not plan_objects:
        raise PlanFormatError(
            'The JSON object has no "steps" key. Reply with one JSON object with the keys '
            + ", ".join(PLAN_FIELDS)
            + "."
        )
    data = dict(plan_objects[0])
    for key in _LIST_FIELDS:
        value = data.get(key)
        if isinstance(value, str):
            data[key] = [value] if value.strip() else []
        elif isinstance(value, list):
            data[key] = [_as_text(item) for item in value]
    try:
        plan = ImplementationPlan.model_validate({k: data[k] for k in PLAN_FIELDS if k in data})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()[:5]
        )
        raise PlanFormatError(
            f"The plan JSON has invalid fields ({problems}). Fix them and reply again."
        ) from None
    plan.steps = [s.strip() for s in plan.steps if s.strip()]
    if not plan.steps:
        raise PlanFormatError('"steps" must be a non-empty list of strings, one action per step.')
    if plan.estimated_steps <= 0:
        plan.estimated_steps = len(plan.steps)
    return plan


async def generate_plan(
    client: ChatClient, model: str, messages: list[dict[str, Any]], *, max_tokens: int | None = None
) -> tuple[ImplementationPlan, int]:
    """Ask for the plan, with one repair request; returns (plan, LLM calls made).

    Raises ``PlanFormatError`` (with ``llm_calls``) when the repaired answer is still not a plan, and
    lets ``LLMError`` from the client through unchanged.
    """
    first = await client.chat(model, messages, max_tokens=max_tokens)
    try:
        return parse_plan(first.content or ""), 1
    except PlanFormatError as exc:
        problem = str(exc)
    repair = [
        *messages,
        first.assistant_message(),
        {
            "role": "user",
            "content": f"Your plan could not be used: {problem}\n"
            "Reply again with only the corrected JSON object, no other text.",
        },
    ]
    second = await client.chat(model, repair, max_tokens=max_tokens)
    try:
        return parse_plan(second.content or ""), 2
    except PlanFormatError as exc:
        raise PlanFormatError(
            f"the model did not produce a valid plan after one repair: {exc}", llm_calls=2
        ) from None
