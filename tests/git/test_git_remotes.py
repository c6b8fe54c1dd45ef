"""Clone, branch, commit and push against real remotes: file://, smart HTTP with basic auth, and SSH."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest
from git_sentinels import SENTINEL_PASSPHRASE, SENTINEL_PASSWORD, SENTINEL_TOKEN, SENTINEL_USER, SshKeys
from support.git_servers import GitHttpServer, SshServer, git, make_bare_repo, remote_branches

from coding_agent.git import (
    GitError,
    changed_files,
    clone,
    commit_all,
    create_feature_branch,
    head_commit,
    push,
)
from coding_agent.git.errors import CHECK_CREDENTIALS
from coding_agent.models import GitCredentials, GitCredentialsType

DAY = date(2025, 3, 14)
FAST = {"timeout": 60.0, "attempts": 2, "retry_base_delay": 0.01}


def password_creds(password: str = SENTINEL_PASSWORD) -> GitCredentials:
    return GitCredentials(credential_type=GitCredentialsType.USERNAME_PASSWORD, username=SENTINEL_USER,
                          password=password)


def token_creds(token: str = SENTINEL_TOKEN) -> GitCredentials:
    return GitCredentials(credential_type=GitCredentialsType.ACCESS_TOKEN, access_token=token)


async def full_cycle(url: str, creds: GitCredentials | None, bare: Path, work: Path, scratch: Path,
                     known_hosts: Path | None = None) -> tuple[Path, str, str]:
    """Clone, branch, change, commit, push; assert the remote has the commit. Returns (repo, branch, sha)."""
    repo = work / "repo"
    base_sha = await clone(url, "main", repo, creds, known_hosts=known_hosts, scratch_dir=scratch, **FAST)
    assert base_sha == remote_branches(bare)["main"]
    assert (repo / "calc" / "ops.py").read_text().startswith("def add")
    branch = await create_feature_branch(repo, "Add subtraction", DAY, creds, url, known_hosts=known_hosts,
                                         scratch_dir=scratch, **FAST)
    assert branch == "feat/20250314-add-subtraction"
    (repo / "calc" / "ops.py").write_text("def sub(a: int, b: int) -> int:\n    return a - b\n")
    (repo / "calc" / "new.py").write_text("X = 1\n")
    assert sorted(await changed_files(repo)) == ["calc/new.py", "calc/ops.py"]
    sha = await commit_all(repo, "Add subtraction", author_name="Agent", author_email="agent@example.test")
    assert sha is not None and sha == await head_commit(repo)
    assert await changed_files(repo) == []
    await push(repo, branch, url, creds, known_hosts=known_hosts, scratch_dir=scratch, **FAST)
    assert remote_branches(bare)[branch] == sha
    summary = git("log", "-1", "--format=%an <%ae>|%s", sha, cwd=bare).strip()
    assert summary == "Agent <agent@example.test>|Add subtraction"
    assert os.listdir(scratch) == [], "temp credential files must be removed"
    return repo, branch, sha


async def test_file_url_partial_clone_commit_and_push(bare_repo: Path, tmp_path: Path, scratch: Path) -> None:
    repo, _, _ = await full_cycle(f"file://{bare_repo}", None, bare_repo, tmp_path, scratch)
    # Blob-less clone: the product-owned config keeps the promisor remote so history stays usable.
    assert "partialclone = origin" in (repo / ".git" / "config").read_text()


async def test_local_path_and_nothing_to_commit(bare_repo: Path, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    await clone(str(bare_repo), "main", repo, None, **FAST)
    assert await commit_all(repo, "nothing", author_name="A", author_email="a@example.test") is None


async def test_https_username_password(http_server: GitHttpServer, bare_repo: Path, tmp_path: Path,
                                       scratch: Path) -> None:
    await full_cycle(http_server.url(bare_repo), password_creds(), bare_repo, tmp_path, scratch)


async def test_https_access_token_uses_x_access_token(http_server: GitHttpServer, bare_repo: Path,
                                                      tmp_path: Path, scratch: Path) -> None:
    await full_cycle(http_server.url(bare_repo), token_creds(), bare_repo, tmp_path, scratch)
    assert f"x-access-token:{SENTINEL_TOKEN}" in http_server.authorizations


@pytest.mark.parametrize("creds", [password_creds("wrong-password-1"), token_creds("wrong-token-1")],
                         ids=["password", "token"])
async def test_https_wrong_credentials_fail_without_retry(http_server: GitHttpServer, bare_repo: Path,
                                                          tmp_path: Path, scratch: Path,
                                                          creds: GitCredentials) -> None:
    url = http_server.url(bare_repo)
    before = len(http_server.requests)
    with pytest.raises(GitError) as caught:
        await clone(url, "main", tmp_path / "repo", creds, scratch_dir=scratch, timeout=60, attempts=3,
                    retry_base_delay=0.01)
    error = caught.value
    assert not error.retryable
    assert CHECK_CREDENTIALS in str(error) and "authentication failed" in str(error)
    assert "wrong-password-1" not in str(error) and "wrong-token-1" not in str(error)
    # One attempt only: an anonymous probe and one authenticated try.
    assert len(http_server.requests) - before <= 2
    assert os.listdir(scratch) == []


async def test_https_missing_base_branch(http_server: GitHttpServer, bare_repo: Path, tmp_path: Path) -> None:
    with pytest.raises(GitError) as caught:
        await clone(http_server.url(bare_repo), "release-9", tmp_path / "repo", password_creds(), **FAST)
    assert not caught.value.retryable
    assert "'release-9' does not exist on the remote" in str(caught.value)


async def test_ssh_key_content(sshd: SshServer, ssh_keys: SshKeys, bare_repo: Path, tmp_path: Path,
                               scratch: Path) -> None:
    creds = GitCredentials(credential_type=GitCredentialsType.KEY_CERT, private_key=ssh_keys.plain_text)
    await full_cycle(sshd.url(bare_repo), creds, bare_repo, tmp_path, scratch)


async def test_ssh_key_path_with_strict_known_hosts(sshd: SshServer, ssh_keys: SshKeys, bare_repo: Path,
                                                    tmp_path: Path, scratch: Path) -> None:
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(sshd.known_hosts_line() + "\n")
    creds = GitCredentials(credential_type=GitCredentialsType.KEY_CERT,
                           private_key_path=str(ssh_keys.plain_path))
    await full_cycle(sshd.url(bare_repo), creds, bare_repo, tmp_path, scratch, known_hosts=known_hosts)


async def test_ssh_unknown_host_key_is_refused_when_strict(
    sshd: SshServer, ssh_keys: SshKeys, bare_repo: Path, tmp_path: Path
) -> None:
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text("")
    creds = GitCredentials(credential_type=GitCredentialsType.KEY_CERT,
                           private_key_path=str(ssh_keys.plain_path))
    with pytest.raises(GitError) as caught:
        await clone(sshd.url(bare_repo), "main", tmp_path / "repo", creds, known_hosts=known_hosts, **FAST)
    assert not caught.value.retryable and "known_hosts" in str(caught.value)


async def test_ssh_passphrase_protected_key(
    sshd: SshServer, ssh_keys: SshKeys, bare_repo: Path, tmp_path: Path, scratch: Path
) -> None:
    creds = GitCredentials(credential_type=GitCredentialsType.KEY_CERT, private_key=ssh_keys.encrypted_text,
                           key_password=SENTINEL_PASSPHRASE)
    await full_cycle(sshd.url(bare_repo), creds, bare_repo, tmp_path, scratch)


async def test_ssh_wrong_passphrase_is_an_auth_error(sshd: SshServer, ssh_keys: SshKeys, bare_repo: Path,
                                                     tmp_path: Path, scratch: Path) -> None:
    creds = GitCredentials(credential_type=GitCredentialsType.KEY_CERT, private_key=ssh_keys.encrypted_text,
                           key_password="not-the-passphrase")
    with pytest.raises(GitError) as caught:
        await clone(sshd.url(bare_repo), "main", tmp_path / "repo", creds, scratch_dir=scratch, **FAST)
    assert not caught.value.retryable and CHECK_CREDENTIALS in str(caught.value)
    assert os.listdir(scratch) == [], "the key file is removed after a failure too"


async def test_branch_suffix_when_taken_on_remote(bare_repo: Path, tmp_path: Path) -> None:
    url = f"file://{bare_repo}"
    repo = tmp_path / "repo"
    await clone(url, "main", repo, None, **FAST)
    for taken in ("feat/20250314-fix-login", "feat/20250314-fix-login-2"):
        git("branch", taken, "main", cwd=bare_repo)
    name = await create_feature_branch(repo, "Fix login!", DAY, None, url, **FAST)
    assert name == "feat/20250314-fix-login-3"
    assert git("rev-parse", "--abbrev-ref", "HEAD", cwd=repo).strip() == name


async def test_clone_into_non_empty_destination_is_refused(bare_repo: Path, tmp_path: Path) -> None:
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "file").write_text("x")
    with pytest.raises(GitError, match="not empty"):
        await clone(str(bare_repo), "main", tmp_path / "repo", None, **FAST)


async def test_push_rejected_when_remote_moved_on(tmp_path: Path) -> None:
    bare = make_bare_repo(tmp_path, "moving.git")
    repo = tmp_path / "repo"
    await clone(f"file://{bare}", "main", repo, None, **FAST)
    (repo / "a.txt").write_text("a")
    await commit_all(repo, "a", author_name="A", author_email="a@example.test")
    other = tmp_path / "other"
    git("clone", "-q", str(bare), str(other))
    (other / "b.txt").write_text("b")
    git("add", "-A", cwd=other)
    git("commit", "-q", "-m", "b", cwd=other)
    git("push", "-q", "origin", "main", cwd=other)
    with pytest.raises(GitError) as caught:
        await push(repo, "main", f"file://{bare}", None, **FAST)
    assert not caught.value.retryable and "rejected" in str(caught.value)
