"""Prompt rendering: the plan request and the agent's opening messages, from templates in prompts.yaml.

The wording lives in YAML so it can be read and tuned without touching code; this module only fills
the templates from the request. The task's credentials never belong in a prompt: they are not used
here, and as a second line of defence every rendered message is scrubbed of them.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from string import Template
from typing import Any

import yaml

from coding_agent.models import CodingAgentRequest, ImplementationPlan
from coding_agent.redaction import Redactor
from coding_agent.truncation import elide_middle

# A task context is free-form JSON from the platform; keep it from crowding out the conversation.
MAX_CONTEXT_CHARS = 20_000
MAX_OVERVIEW_CHARS = 20_000


@lru_cache(maxsize=1)
def templates() -> dict[str, str]:
    """The templates of prompts.yaml, loaded once from the installed package."""
    text = resources.files("coding_agent.llm").joinpath("prompts.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise RuntimeError("prompts.yaml must map template names to strings")
    return data


def render(name: str, **values: str) -> str:
    """Fill template ``name``; a missing placeholder is an error, not a silent ``$name`` in a prompt."""
    return Template(templates()[name]).substitute(values).strip()


def _bullets(items: list[str]) -> str:
    return "\n".join(f"- {item}" for item in items) if items else "(none)"


def _redactor(request: CodingAgentRequest) -> Redactor:
    credentials = request.repository.credentials
    return Redactor(credentials.secrets() if credentials else [])


def task_text(request: CodingAgentRequest) -> str:
    """The task as the model reads it: title, description, requirements, tags and context."""
    task = request.task
    context = ""
    if task.context:
        context_json = json.dumps(task.context, indent=2, sort_keys=True, default=str)
        context = "\n" + render("task_context", context_json=elide_middle(context_json, MAX_CONTEXT_CHARS))
    return render(
        "task",
        title=task.title,
        task_id=task.id,
        description=task.description.strip() or "(no description)",
        requirements=_bullets(task.requirements),
        tags=", ".join(task.tags) if task.tags else "(none)",
        branch=request.repository.branch,
        context=context,
    )


def plan_text(plan: ImplementationPlan) -> str:
    """The plan in readable form for the agent's first message."""
    steps = "\n".join(f"{i}. {step}" for i, step in enumerate(plan.steps, 1)) or "(no steps)"
    return "\n".join(
        [
            "Steps:",
            steps,
            "Files to create:",
            _bullets(plan.files_to_create),
            "Files to modify:",
            _bullets(plan.files_to_modify),
            f"Estimated steps: {plan.estimated_steps}",
            "Validation criteria:",
            _bullets(plan.validation_criteria),
        ]
    )


def plan_messages(request: CodingAgentRequest, repo_overview: str) -> list[dict[str, Any]]:
    """The messages that ask the model for an implementation plan (JSON)."""
    scrub = _redactor(request)
    user = render(
        "plan_request",
        task=task_text(request),
        repo_overview=elide_middle(repo_overview.strip() or "(empty repository)", MAX_OVERVIEW_CHARS),
    )
    system = render("plan_system")
    if request.agent.instructions:
        system += "\n\n" + render("custom_instructions", instructions=request.agent.instructions.strip())
    return [
        {"role": "system", "content": scrub.text(system)},
        {"role": "user", "content": scrub.text(user)},
    ]


def agent_messages(request: CodingAgentRequest, plan: ImplementationPlan) -> list[dict[str, Any]]:
    """The system prompt and first user message of the tool loop."""
    scrub = _redactor(request)
    system = render("agent_system")
    if request.agent.instructions:
        system += "\n\n" + render("custom_instructions", instructions=request.agent.instructions.strip())
    user = render("agent_start", task=task_text(request), plan=plan_text(plan))
    return [
        {"role": "system", "content": scrub.text(system)},
        {"role": "user", "content": scrub.text(user)},
    ]
