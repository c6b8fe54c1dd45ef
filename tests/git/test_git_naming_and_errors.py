"""Branch names, remote URL validation and the classification of git failures (pure functions)."""

from __future__ import annotations

from datetime import date

import pytest

from coding_agent.git import GitError, branch_name, parse_remote, slugify
from coding_agent.git.errors import CHECK_CREDENTIALS, CHECK_PUSH_PERMISSIONS, classify_failure
from coding_agent.git.naming import MAX_SLUG_CHARS, unique_branch_name
from coding_agent.git.urls import RemoteKind, token_username
from coding_agent.redaction import Redactor


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Add user authentication", "add-user-authentication"),
        ("Fix: crash on   empty input!!", "fix-crash-on-empty-input"),
        ("Ünïcödé Façade — déjà vu", "unicode-facade-deja-vu"),
        ("--leading/and/trailing--", "leading-and-trailing"),
        ("日本語だけ", "task"),
        ("", "task"),
    ],
)
def test_slugify(title: str, slug: str) -> None:
    assert slugify(title) == slug


def test_slug_is_bounded_and_ends_cleanly() -> None:
    slug = slugify("Implement the extremely long and detailed feature title that goes on and on forever")
    assert len(slug) <= MAX_SLUG_CHARS
    assert not slug.endswith("-") and slug.startswith("implement-the-extremely-long")


def test_branch_name_format_and_suffix() -> None:
    name = branch_name("Add user authentication", date(2024, 1, 5))
    assert name == "feat/20240105-add-user-authentication"
    assert unique_branch_name(name, set()) == name
    assert unique_branch_name(name, {name}) == f"{name}-2"
    assert unique_branch_name(name, {name, f"{name}-2", f"{name}-4"}) == f"{name}-3"


@pytest.mark.parametrize(
    ("url", "kind", "stored"),
    [
        ("https://github.com/o/r.git", RemoteKind.HTTP, "https://github.com/o/r.git"),
        (
            "https://bob:s3cret-pw@gitlab.example.com/o/r.git",
            RemoteKind.HTTP,
            "https://gitlab.example.com/o/r.git",
        ),
        ("git@github.com:o/r.git", RemoteKind.SSH, "git@github.com:o/r.git"),
        ("ssh://git@host:2222/o/r.git", RemoteKind.SSH, "ssh://git@host:2222/o/r.git"),
        ("file:///srv/r.git", RemoteKind.FILE, "file:///srv/r.git"),
        ("/srv/r.git", RemoteKind.FILE, "/srv/r.git"),
    ],
)
def test_parse_remote(url: str, kind: RemoteKind, stored: str) -> None:
    remote = parse_remote(url)
    assert (remote.kind, remote.url) == (kind, stored)


def test_embedded_credentials_are_lifted_out() -> None:
    remote = parse_remote("https://bob:s3cret-pw@gitlab.example.com/o/r.git")
    assert (remote.embedded_username, remote.embedded_password) == ("bob", "s3cret-pw")
    assert "s3cret-pw" not in repr(remote)


def test_token_username_conventions() -> None:
    assert token_username("github.com", None) == "x-access-token"
    assert token_username("gitlab.com", None) == "oauth2"
    assert token_username("gitlab.internal.example", None) == "oauth2"
    assert token_username("git.example.org", None) == "x-access-token"
    assert token_username("github.com", "octocat") == "octocat"


URL = "https://github.com/o/r.git"


@pytest.mark.parametrize(
    ("operation", "output", "retryable", "expect"),
    [
        ("clone", "fatal: Authentication failed for 'https://github.com/o/r.git/'", False, CHECK_CREDENTIALS),
        (
            "clone",
            "git@github.com: Permission denied (publickey).\nfatal: Could not read from remote repository.",
            False,
            CHECK_CREDENTIALS,
        ),
        (
            "clone",
            "fatal: could not read Username for 'https://github.com': terminal prompts disabled",
            False,
            CHECK_CREDENTIALS,
        ),
        (
            "push",
            "fatal: unable to access 'https://github.com/o/r.git/': The requested URL returned error: 403",
            False,
            CHECK_PUSH_PERMISSIONS,
        ),
        (
            "push",
            "remote: Permission to o/r.git denied to bot.\nfatal: unable to access '...': "
            "The requested URL returned error: 403",
            False,
            CHECK_PUSH_PERMISSIONS,
        ),
        ("push", " ! [rejected]        feat/x -> feat/x (non-fast-forward)", False, "rejected"),
        (
            "clone",
            "warning: Could not find remote branch dev to clone.\nfatal: Remote branch dev not found in "
            "upstream origin",
            False,
            "does not exist on the remote",
        ),
        ("clone", "fatal: repository 'https://github.com/o/r.git/' not found", False, CHECK_CREDENTIALS),
        ("clone", "fatal: unable to access '...': The requested URL returned error: 503", True, "transient"),
        ("clone", "fatal: unable to access '...': Could not resolve host: github.com", True, "transient"),
        ("clone", "ssh: connect to host h port 22: Connection refused", True, "transient"),
        (
            "clone",
            "error: RPC failed; curl 56 Recv failure: Connection reset by peer\nfatal: early EOF",
            True,
            "transient",
        ),
        (
            "clone",
            "fatal: unable to access '...': Failed to connect to h port 443: Connection timed out",
            True,
            "transient",
        ),
        ("clone", "Host key verification failed.", False, "known_hosts"),
        ("clone", "fatal: something nobody has seen before", False, "unexpected"),
    ],
)
def test_classify_failure(operation: str, output: str, retryable: bool, expect: str) -> None:
    error = classify_failure(operation, output, remote_url=URL, redactor=Redactor(), branch="dev")
    assert error.retryable is retryable
    assert expect in str(error)


def test_classified_messages_are_redacted() -> None:
    output = (
        "fatal: Authentication failed for 'https://bob:hunter2-secret@github.com/o/r.git/'\ntoken tok-abcdef"
    )
    error = classify_failure(
        "clone",
        output,
        remote_url="https://bob:hunter2-secret@github.com/o/r.git",
        redactor=Redactor(["tok-abcdef"]),
    )
    assert "hunter2-secret" not in str(error) and "tok-abcdef" not in str(error)
    assert isinstance(error, GitError) and not error.retryable
