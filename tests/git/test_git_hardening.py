"""A hostile workspace cannot steer the product's git, unsafe transports are refused, secrets stay put."""

from __future__ import annotations

import logging
import os
from datetime import date
from pathlib import Path

import pytest
from git_sentinels import SENTINEL_PASSPHRASE, SENTINEL_PASSWORD, SENTINEL_TOKEN, SENTINEL_USER, SshKeys
from support.git_servers import (
    GitHttpServer,
    SshServer,
    free_port,
    git,
    git_http_server,
    make_bare_repo,
    remote_branches,
)

from coding_agent.git import GitError, clone, commit_all, create_feature_branch, push
from coding_agent.git.hardening import git_argv, git_env
from coding_agent.models import GitCredentials, GitCredentialsType
from coding_agent.processes import run_process

FAST = {"timeout": 60.0, "attempts": 2, "retry_base_delay": 0.01}

EVIL_SCRIPT = """#!/bin/sh
echo "ran: $0 $*" >> "{marks}/evil.log"
env >> "{marks}/evil.log"
cat >> "{marks}/evil.log"
"""
HOOK_NAMES = ("pre-commit", "commit-msg", "post-commit", "pre-push", "reference-transaction", "post-checkout",
              "prepare-commit-msg", "pre-auto-gc", "fsmonitor-watchman")


def plant_hostile_git(repo: Path, marks: Path) -> None:
    """What a model with write access to the workspace could leave in .git/ and the worktree."""
    marks.mkdir()
    evil = marks.parent / "evil.sh"
    evil.write_text(EVIL_SCRIPT.format(marks=marks))
    evil.chmod(0o755)
    hooks = marks.parent / "hooks"
    hooks.mkdir()
    for directory in (hooks, repo / ".git" / "hooks"):
        for name in HOOK_NAMES:
            (directory / name).write_text(EVIL_SCRIPT.format(marks=marks))
            (directory / name).chmod(0o755)
    include = marks.parent / "evil.cfg"
    include.write_text(f'[credential]\n\thelper = "!{evil}"\n[core]\n\taskPass = {evil}\n')
    other_git_dir = marks.parent / "other-git"
    other_git_dir.mkdir()
    (other_git_dir / "config").write_text(f'[credential]\n\thelper = "!{evil}"\n')
    (repo / ".git" / "commondir").write_text(str(other_git_dir))
    with (repo / ".git" / "config").open("a") as config:
        config.write(
            f'[credential]\n\thelper = "!{evil}"\n\thelper = store --file {marks}/stored\n'
            f"[core]\n\thooksPath = {hooks}\n\tsshCommand = {evil}\n"
            f"\tfsmonitor = {evil}\n\taskPass = {evil}\n"
            f'[include]\n\tpath = {include}\n[includeIf "gitdir:/"]\n\tpath = {include}\n'
            f'[filter "evil"]\n\tclean = {evil}\n\tsmudge = {evil}\n\trequired = true\n'
            f'[commit]\n\tgpgSign = true\n[gpg]\n\tprogram = {evil}\n'
            '[remote "origin"]\n\tpushurl = http://127.0.0.1:9/stolen.git\n'
            '[url "http://127.0.0.1:9/"]\n\tinsteadOf = http://127.0.0.1\n\tinsteadOf = ssh://\n'
            f"[http]\n\textraHeader = X-Evil: 1\n\tproxy = http://127.0.0.1:9\n"
        )
    (repo / ".git" / "info").mkdir(exist_ok=True)
    (repo / ".git" / "info" / "attributes").write_text("* filter=evil\n")
    (repo / ".gitattributes").write_text("* filter=evil\n")


def assert_nothing_ran(marks: Path) -> None:
    log = marks / "evil.log"
    assert sorted(os.listdir(marks)) == [], log.read_text() if log.exists() else ""


def https_password() -> GitCredentials:
    return GitCredentials(credential_type=GitCredentialsType.USERNAME_PASSWORD, username=SENTINEL_USER,
                          password=SENTINEL_PASSWORD)


@pytest.mark.parametrize("transport", ["https", "ssh"])
async def test_hostile_repo_config_and_hooks_are_inert(
    transport: str, http_server: GitHttpServer, sshd: SshServer, ssh_keys: SshKeys, bare_repo: Path,
    tmp_path: Path,
) -> None:
    if transport == "https":
        url, creds = http_server.url(bare_repo), https_password()
    else:
        url = sshd.url(bare_repo)
        creds = GitCredentials(credential_type=GitCredentialsType.KEY_CERT,
                               private_key=ssh_keys.encrypted_text, key_password=SENTINEL_PASSPHRASE)
    repo = tmp_path / "repo"
    await clone(url, "main", repo, creds, **FAST)
    branch = await create_feature_branch(repo, "Hostile", date(2025, 1, 2), creds, url, **FAST)
    marks = tmp_path / "marks"
    plant_hostile_git(repo, marks)
    (repo / "calc" / "ops.py").write_text("VALUE = 'unfiltered'\n")

    sha = await commit_all(repo, "Change", author_name="Agent", author_email="agent@example.test")
    await push(repo, branch, url, creds, **FAST)

    assert_nothing_ran(marks)
    assert remote_branches(bare_repo)[branch] == sha
    assert git("show", f"{sha}:calc/ops.py", cwd=bare_repo) == "VALUE = 'unfiltered'\n"
    assert git("log", "-1", "--format=%G?", sha, cwd=bare_repo).strip() == "N", "not signed by the evil gpg"
    config = (repo / ".git" / "config").read_text()
    for planted in ("evil", "hooksPath", "include", "pushurl", "insteadOf", "extraHeader", "proxy", "gpg"):
        assert planted not in config
    assert not (repo / ".git" / "commondir").exists()


async def test_replaced_git_dir_is_refused(bare_repo: Path, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    await clone(str(bare_repo), "main", repo, None, **FAST)
    elsewhere = tmp_path / "elsewhere.git"
    (repo / ".git").rename(elsewhere)
    (repo / ".git").write_text(f"gitdir: {elsewhere}\n")
    with pytest.raises(GitError, match="not a git directory"):
        await commit_all(repo, "x", author_name="A", author_email="a@example.test")


UNSAFE_URLS = ["ext::sh -c touch% {marker}", "fd::3", "git://127.0.0.1/repo.git",
               "--upload-pack=touch {marker}", "foo::bar", "ftp://127.0.0.1/repo.git", "https://host/repo\n.git"]


@pytest.mark.parametrize("url", UNSAFE_URLS)
async def test_unsafe_transports_are_refused_before_git_runs(url: str, tmp_path: Path,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    marker = tmp_path / "marker"
    caplog.set_level(logging.DEBUG, logger="coding_agent.git")
    with pytest.raises(GitError) as caught:
        await clone(url.format(marker=marker), "main", tmp_path / "repo", None, **FAST)
    assert not caught.value.retryable
    assert "unsafe or unsupported git remote" in str(caught.value)
    assert "only https://, http://, ssh://" in str(caught.value)
    assert not marker.exists() and not (tmp_path / "repo").exists()
    assert not [r for r in caplog.records if r.getMessage().startswith("git: ")], "git must not have run"


async def test_protocol_allow_list_also_blocks_ext_inside_git(tmp_path: Path) -> None:
    """The second layer: even if a URL slipped past validation, git itself refuses ext::."""
    marker = tmp_path / "marker"
    argv = git_argv("ls-remote", f"ext::sh -c touch% {marker}")
    result = await run_process(argv, env=git_env(), timeout=30)
    assert result.exit_code != 0
    assert "not allowed" in result.output
    assert not marker.exists()


@pytest.mark.parametrize(
    ("url", "creds", "needs"),
    [
        ("https://example.test/r.git", GitCredentials(credential_type=GitCredentialsType.KEY_CERT,
                                                      private_key="k" * 40), "SSH remote URL"),
        ("git@example.test:r.git", GitCredentials(credential_type=GitCredentialsType.ACCESS_TOKEN,
                                                  access_token="t" * 20), "https:// remote URL"),
    ],
)
async def test_credentials_that_do_not_fit_the_transport(url: str, creds: GitCredentials, needs: str,
                                                         tmp_path: Path) -> None:
    with pytest.raises(GitError, match=needs) as caught:
        await clone(url, "main", tmp_path / "repo", creds, **FAST)
    assert not caught.value.retryable


async def test_transient_503s_are_retried(remotes_root: Path, bare_repo: Path, tmp_path: Path) -> None:
    with git_http_server(remotes_root, [(SENTINEL_USER, SENTINEL_PASSWORD)], fail_first=2) as server:
        sha = await clone(server.url(bare_repo), "main", tmp_path / "repo", https_password(), timeout=60,
                          attempts=4, retry_base_delay=0.01)
        assert sha == remote_branches(bare_repo)["main"]
        assert [status for _, _, status in server.requests][:2] == [503, 503]


async def test_persistent_5xx_gives_up_as_retryable(
    remotes_root: Path, bare_repo: Path, tmp_path: Path
) -> None:
    with git_http_server(remotes_root, [(SENTINEL_USER, SENTINEL_PASSWORD)], fail_first=100) as server:
        with pytest.raises(GitError) as caught:
            await clone(server.url(bare_repo), "main", tmp_path / "repo", https_password(), timeout=60,
                        attempts=3, retry_base_delay=0.01)
        assert caught.value.retryable and "gave up after 3 attempts" in str(caught.value)
        assert len(server.requests) == 3
        assert not (tmp_path / "repo").exists()


async def test_connection_refused_is_retryable(tmp_path: Path) -> None:
    with pytest.raises(GitError) as caught:
        await clone(f"http://127.0.0.1:{free_port()}/r.git", "main", tmp_path / "repo", None, timeout=30,
                    attempts=2, retry_base_delay=0.01)
    assert caught.value.retryable


async def test_secret_hygiene(
    http_server: GitHttpServer, sshd: SshServer, ssh_keys: SshKeys, remotes_root: Path, tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Sentinel password, token, passphrase and key never reach config, commits, argv, logs or errors."""
    caplog.set_level(logging.DEBUG, logger="coding_agent.git")
    key_text = ssh_keys.encrypted_text
    sentinels = [SENTINEL_PASSWORD, SENTINEL_TOKEN, SENTINEL_PASSPHRASE,
                 *[line for line in key_text.splitlines() if len(line) > 20 and "PRIVATE KEY" not in line]]
    cases = [
        ("password", http_server, https_password()),
        ("token", http_server, GitCredentials(credential_type=GitCredentialsType.ACCESS_TOKEN,
                                              access_token=SENTINEL_TOKEN)),
        ("ssh", sshd, GitCredentials(credential_type=GitCredentialsType.KEY_CERT, private_key=key_text,
                                     key_password=SENTINEL_PASSPHRASE)),
    ]
    http_server.capture_cmdlines = True
    try:
        texts: list[str] = []
        for name, server, creds in cases:
            bare = make_bare_repo(remotes_root, f"hygiene-{name}.git")
            url = server.url(bare)
            repo = tmp_path / name
            await clone(url, "main", repo, creds, **FAST)
            day = date(2025, 1, 2)
            branch = await create_feature_branch(repo, f"Hygiene {name}", day, creds, url, **FAST)
            (repo / "x.txt").write_text(name)
            sha = await commit_all(repo, f"hygiene {name}", author_name="A", author_email="a@example.test")
            await push(repo, branch, url, creds, **FAST)
            texts += [(repo / ".git" / "config").read_text(), git("cat-file", "-p", str(sha), cwd=bare),
                      git("log", "-p", "--all", cwd=bare)]
            with pytest.raises(GitError) as caught:  # an error path too, with the same secrets in play
                await clone(url, "no-such-branch", tmp_path / f"{name}-err", creds, **FAST)
            texts.append(str(caught.value))
        # Credentials embedded in a URL are lifted out, not stored.
        bare = make_bare_repo(remotes_root, "hygiene-url.git")
        embedded = http_server.url(bare).replace("://", f"://{SENTINEL_USER}:{SENTINEL_PASSWORD}@")
        await clone(embedded, "main", tmp_path / "embedded", None, **FAST)
        texts.append((tmp_path / "embedded" / ".git" / "config").read_text())
        with pytest.raises(GitError) as caught:
            missing = embedded.replace("hygiene-url", "missing")
            await clone(missing, "main", tmp_path / "missing", None, **FAST)
        texts.append(str(caught.value))
    finally:
        http_server.capture_cmdlines = False
    texts += [record.getMessage() for record in caplog.records]
    texts += http_server.cmdlines
    assert any("git-remote-http" in line for line in http_server.cmdlines), "the argv snapshot saw git"
    assert any(line.startswith("git: ") for line in texts), "the debug log of git commands was captured"
    for text in texts:
        for sentinel in sentinels:
            assert sentinel not in text
