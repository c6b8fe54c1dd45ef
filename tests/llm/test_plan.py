"""parse_plan on the shapes models really answer with, and the one-repair flow against the server."""

from __future__ import annotations

import json

import pytest

from coding_agent.demo.scripted_llm import Fault, Script, demo_script
from coding_agent.llm.client import LLMError
from coding_agent.llm.plan import PlanFormatError, generate_plan, parse_plan

PLAN = {
    "steps": ["Read calc.py", "Add multiply"],
    "files_to_create": ["tests/test_mul.py"],
    "files_to_modify": ["calc.py"],
    "estimated_steps": 4,
    "validation_criteria": ["pytest passes"],
}
MESSAGES = [{"role": "system", "content": "plan"}, {"role": "user", "content": "Plan the task."}]


@pytest.mark.parametrize(
    "text",
    [
        json.dumps(PLAN),
        "```json\n" + json.dumps(PLAN, indent=2) + "\n```",
        "Here is my plan:\n```\n" + json.dumps(PLAN) + "\n```\nLet me know!",
        "Sure. " + json.dumps(PLAN) + " That is all {not json}.",
        '{"thinking": "x"} then ' + json.dumps(PLAN),
    ],
)
def test_parse_plan_accepts_wrapped_json(text: str) -> None:
    plan = parse_plan(text)
    assert plan.model_dump() == PLAN


def test_parse_plan_normalises_loose_fields() -> None:
    plan = parse_plan(
        json.dumps(
            {
                "steps": [{"step": 1, "description": "Do A"}, "  Do B  ", ""],
                "files_to_modify": "calc.py",
                "extra": "ignored",
            }
        )
    )
    assert plan.steps == ["Do A", "Do B"]
    assert plan.files_to_modify == ["calc.py"]
    assert plan.estimated_steps == 2  # missing -> the number of steps


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("I will add a function.", "no valid JSON"),
        ('{"steps": ["a",]}', "no valid JSON"),
        ('{"plan": ["a"]}', '"steps"'),
        ('{"steps": []}', "non-empty"),
        ('{"steps": ["a"], "estimated_steps": "several"}', "estimated_steps"),
    ],
)
def test_parse_plan_errors_tell_the_model_what_to_fix(text: str, fragment: str) -> None:
    with pytest.raises(PlanFormatError, match=fragment):
        parse_plan(text)


async def test_generate_plan_one_call(make_server, make_client) -> None:
    server = make_server(script=demo_script())
    plan, calls = await generate_plan(make_client(server), "m", MESSAGES)
    assert calls == 1 and "calc.py" in plan.files_to_modify and plan.estimated_steps == 5


async def test_generate_plan_repairs_once(make_server, make_client) -> None:
    # plan[k] answers a request holding k assistant messages: the repair request gets the good one.
    server = make_server(script=Script(plan=["I think we should add multiply.", json.dumps(PLAN)]))
    plan, calls = await generate_plan(make_client(server), "m", MESSAGES, max_tokens=500)
    assert calls == 2 and plan.model_dump() == PLAN
    repair = server.requests[-1].body["messages"]
    assert repair[:2] == MESSAGES
    assert repair[2] == {"role": "assistant", "content": "I think we should add multiply."}
    assert repair[3]["role"] == "user" and "no valid JSON" in repair[3]["content"]
    assert server.requests[-1].body["max_tokens"] == 500


async def test_generate_plan_gives_up_after_one_repair(make_server, make_client) -> None:
    server = make_server(script=Script(plan="still prose"))
    with pytest.raises(PlanFormatError, match="after one repair") as caught:
        await generate_plan(make_client(server), "m", MESSAGES)
    assert caught.value.llm_calls == 2 and len(server.requests) == 2


async def test_generate_plan_lets_llm_errors_through(make_server, make_client) -> None:
    server = make_server(script=demo_script(), faults=[Fault.http(503)])
    with pytest.raises(LLMError) as caught:
        await generate_plan(make_client(server), "m", MESSAGES)
    assert caught.value.retryable
