"""Fixtures of the git tests: real remotes on loopback (file://, smart HTTP with basic auth, sshd).

The servers are session-scoped (sshd and the HTTP server start once); every test gets its own bare
repository under the served root. Sentinel secrets are distinctive strings the hygiene tests look for.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from git_sentinels import SENTINEL_PASSPHRASE, SENTINEL_PASSWORD, SENTINEL_TOKEN, SENTINEL_USER, SshKeys
from support.git_servers import (
    GitHttpServer,
    SshServer,
    git_http_server,
    make_bare_repo,
    make_ssh_key,
    ssh_server,
)

_counter = itertools.count()


@pytest.fixture(scope="session")
def remotes_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("remotes")


@pytest.fixture
def bare_repo(remotes_root: Path) -> Path:
    """A fresh bare repository (one commit on main) under the served root."""
    return make_bare_repo(remotes_root, f"repo-{next(_counter)}.git")


@pytest.fixture(scope="session")
def http_server(remotes_root: Path) -> Iterator[GitHttpServer]:
    accounts = [(SENTINEL_USER, SENTINEL_PASSWORD), ("x-access-token", SENTINEL_TOKEN)]
    with git_http_server(remotes_root, accounts) as server:
        yield server


@pytest.fixture(scope="session")
def ssh_keys(tmp_path_factory: pytest.TempPathFactory) -> SshKeys:
    keys_dir = tmp_path_factory.mktemp("client-keys")
    plain, _ = make_ssh_key(keys_dir, "plain")
    encrypted, _ = make_ssh_key(keys_dir, "encrypted", passphrase=SENTINEL_PASSPHRASE)
    return SshKeys(plain_path=plain, encrypted_path=encrypted)


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory, ssh_keys: SshKeys) -> Iterator[SshServer]:
    public = [Path(f"{p}.pub").read_text() for p in (ssh_keys.plain_path, ssh_keys.encrypted_path)]
    with ssh_server(tmp_path_factory.mktemp("sshd"), public) as server:
        yield server


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    """Where git_auth_env makes its private temp dirs, so tests can see they are gone."""
    path = tmp_path / "scratch"
    path.mkdir()
    return path
