"""Prompt rendering: the task's fields and the plan reach the model, the credentials never do."""

from __future__ import annotations

import json

from coding_agent.llm.plan import PLAN_FIELDS
from coding_agent.llm.prompts import agent_messages, plan_messages, templates
from coding_agent.models import (
    AgentConfig,
    CodingAgentRequest,
    GitCredentials,
    GitCredentialsType,
    ImplementationPlan,
    RepositoryConfig,
    TaskConfig,
)

TOKEN = "ghp_thisIsASecretToken1234567890"


def make_request(
    instructions: str | None = "Focus on database performance, budget $100.",
) -> CodingAgentRequest:
    return CodingAgentRequest(
        agent=AgentConfig(instructions=instructions),
        repository=RepositoryConfig(
            remote_url="https://github.com/username/repo.git",
            branch="develop",
            credentials=GitCredentials(credential_type=GitCredentialsType.ACCESS_TOKEN, access_token=TOKEN),
        ),
        task=TaskConfig(
            id="task-789",
            project_id="project-456",
            company_id="company-123",
            title="Add user authentication",
            description=f"Implement JWT-based authentication (the token {TOKEN} must not leak)",
            requirements=["Create user model", "Implement password hashing"],
            tags=["authentication", "security"],
            context={"ticket": "AUTH-42", "priority": "high"},
        ),
    )


def test_plan_messages_carry_the_task_and_ask_for_the_plan_fields() -> None:
    messages = plan_messages(make_request(), "src/\n  app.py\ntests/")
    assert [m["role"] for m in messages] == ["system", "user"]
    text = "\n".join(m["content"] for m in messages)
    for expected in (
        "Add user authentication",
        "Implement JWT-based authentication",
        "- Create user model",
        "- Implement password hashing",
        "authentication, security",
        "AUTH-42",
        "develop",
        "src/\n  app.py",
        "Focus on database performance, budget $100.",
        *(f'"{field}"' for field in PLAN_FIELDS),
    ):
        assert expected in text, expected
    assert TOKEN not in json.dumps(messages)


def test_agent_messages_carry_rules_task_and_plan() -> None:
    plan = ImplementationPlan(
        steps=["Create the user model", "Hash passwords"],
        files_to_create=["app/users.py"],
        files_to_modify=["app/main.py"],
        estimated_steps=6,
        validation_criteria=["pytest passes"],
    )
    messages = agent_messages(make_request(), plan)
    assert [m["role"] for m in messages] == ["system", "user"]
    system, user = messages[0]["content"], messages[1]["content"]
    for tool in ("run_shell_command", "read_file", "write_file", "list_directory", "edit_file"):
        assert tool in system
    assert ".git" in system and "workspace" in system and "summary" in system
    assert "Focus on database performance" in system
    for expected in (
        "Add user authentication",
        "1. Create the user model",
        "2. Hash passwords",
        "app/users.py",
    ):
        assert expected in user
    assert TOKEN not in json.dumps(messages)


def test_no_instructions_no_context() -> None:
    request = make_request(instructions=None)
    request.task.context = {}
    text = json.dumps(agent_messages(request, ImplementationPlan(steps=["x"])))
    assert "Additional instructions" not in text and "Context (JSON)" not in text
    assert "$" not in text  # every placeholder was filled


def test_templates_load_from_the_package() -> None:
    names = set(templates())
    assert {"agent_system", "plan_system", "plan_request", "task", "agent_start"} <= names
