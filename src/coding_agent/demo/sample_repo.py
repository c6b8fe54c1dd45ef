"""The demo's repository: the sample project committed to a local bare remote the agent can push to."""

from __future__ import annotations

from pathlib import Path

from coding_agent.demo.scripted_llm import sample_repo_files
from coding_agent.processes import run_process

_GIT_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_AUTHOR_NAME": "Demo",
    "GIT_AUTHOR_EMAIL": "demo@localhost",
    "GIT_COMMITTER_NAME": "Demo",
    "GIT_COMMITTER_EMAIL": "demo@localhost",
}


async def _git(*args: str, cwd: Path) -> None:
    result = await run_process(["git", *args], cwd=cwd, env=_GIT_ENV, timeout=60)
    if result.exit_code != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {result.output.strip()}")


async def create_sample_remote(root: Path, files: dict[str, str] | None = None, branch: str = "main") -> Path:
    """Create ``root/remote.git`` holding one commit of ``files`` (default: the demo project)."""
    source = root / "source"
    remote = root / "remote.git"
    source.mkdir(parents=True)
    for rel, content in (files or sample_repo_files()).items():
        target = source / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
    await _git("init", "-q", "-b", branch, cwd=source)
    await _git("add", "-A", cwd=source)
    await _git("commit", "-q", "-m", "Initial commit", cwd=source)
    await _git("init", "-q", "--bare", "-b", branch, str(remote), cwd=root)
    await _git("push", "-q", str(remote), branch, cwd=source)
    return remote
