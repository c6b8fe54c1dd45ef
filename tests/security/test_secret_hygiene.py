"""Issue 3, secret hygiene: whole workflows with a sentinel password, token, key passphrase and key
content (and the worker's own secrets) leave none of them in the Temporal history, the NATS messages,
the ``task_activities`` rows, the worker's logs, the workspace's ``.git/config``, the commits or the
results; the temporary key files are gone afterwards, after a failure too."""

from __future__ import annotations

import pytest

from tests.security.scenario import (
    ALLOWED_ACTIVITY_INPUTS,
    PASSPHRASE,
    PASSWORD,
    TOKEN,
    USER,
    Observations,
)

CREDENTIAL_RUNS = ("hostile", "token", "ssh", "ssh-fails", "tamper", "network")


def leaks(seen: Observations, text: str) -> list[str]:
    return [secret for secret in seen.sentinels() if secret in text]


def test_the_credentials_were_really_used(seen: Observations) -> None:
    """Otherwise the checks below would prove nothing."""
    assert f"{USER}:{PASSWORD}" in seen.http_authorizations
    assert f"x-access-token:{TOKEN}" in seen.http_authorizations
    for name in ("hostile", "token", "ssh", "tamper", "network"):
        result = seen.runs[name].result
        assert result is not None and result.success and result.commit_hash, (name, result)
    failed = seen.runs["ssh-fails"].result
    assert failed is not None and not failed.success and "no-such-branch" in (failed.error_message or "")
    assert len(seen.key_lines) >= 3


@pytest.mark.parametrize("name", CREDENTIAL_RUNS)
def test_no_secret_in_what_users_and_reviewers_see(seen: Observations, name: str) -> None:
    run = seen.runs[name]
    assert run.result is not None and run.notifications and run.rows
    places = {
        "result": run.result.model_dump_json(),
        "NATS messages": "\n".join(run.notifications),
        "task_activities rows": "\n".join(r.model_dump_json() for r in run.rows),
        "commits on the remote": seen.commits[name],
    }
    for place, text in places.items():
        assert leaks(seen, text) == [], f"{name}: a secret in the {place}"


def test_no_secret_in_logs_git_config_or_transcript(seen: Observations) -> None:
    assert any(line.startswith("coding_agent.git.repository DEBUG git: ") for line in seen.logs)
    for line in seen.logs:
        assert leaks(seen, line) == [], line
    assert seen.git_configs, "the workspaces' .git/config were captured while the tasks ran"
    for config in seen.git_configs.values():
        assert leaks(seen, config) == [], config
        assert f"{USER}:" not in config and "x-access-token" not in config, config
    for body in seen.transcript_bodies:
        assert leaks(seen, body) == []


@pytest.mark.parametrize("name", CREDENTIAL_RUNS)
def test_temporal_history_holds_credentials_only_encrypted_and_only_as_git_inputs(
    seen: Observations, name: str
) -> None:
    history = seen.runs[name].history
    assert b"binary/encrypted" in history.raw
    for secret in seen.sentinels():
        assert secret.encode() not in history.raw, f"{name}: plaintext in Temporal's stored history"
    carriers = set()
    for where, plain in history.decoded:
        if any(s.encode() in plain for s in seen.sentinels()):
            workflow_id, event = where.split(" ", 1)
            carriers.add(f"session {event}" if "-session-" in workflow_id else event)
    # Decrypted, the credentials are only where the product needs them: the task's input and the git
    # activities' inputs of the task itself. The agent session (the long-lived history) never holds them:
    # it hands a lost workspace back to the task, which rebuilds it.
    allowed = {
        "workflow_execution_started_event_attributes",
        *(f"activity_task_scheduled_event_attributes:{a}" for a in ALLOWED_ACTIVITY_INPUTS),
    }
    assert "workflow_execution_started_event_attributes" in carriers, "the decoded history was read"
    assert carriers <= allowed, carriers - allowed


def test_temporary_key_files_are_gone_after_success_and_failure(seen: Observations) -> None:
    # The SSH tasks wrote their key (and askpass scripts) under git_secrets_dir...
    used = [line for line in seen.logs if f"{seen.secrets_dir}/coding-agent-git-" in line and "/id_key" in line]
    assert any("no-such-branch" in line for line in used), "the failing clone used a temporary key file"
    assert any(" push " in line for line in used), "the push used a temporary key file"
    # ...and nothing of them is left, though one task failed.
    assert seen.secrets_dir_listing == []
    assert PASSPHRASE not in "\n".join(seen.logs)
