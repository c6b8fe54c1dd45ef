"""The command policy, table-driven: dangerous commands are refused with a reason, everyday ones pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from coding_agent.tools.policy import CommandPolicy

DANGEROUS = [
    "rm -rf /",
    "rm -rf /*",
    "rm -rf / --no-preserve-root",
    "rm --no-preserve-root -rf /",
    "rm -rf ~",
    "rm -rf ~/",
    "rm -rf $HOME",
    "rm -rf ${HOME}/*",
    'rm -rf "$HOME"',
    "rm -rf /etc",
    "rm -r /usr/lib",
    "rm -fr /var/*",
    "rm -rf ..",
    "rm -rf ../..",
    "rm -rf /{etc,usr}",
    "rm -rf $UNSET_DIR/*",
    "cd / && rm -rf *",
    "cd /etc; rm -rf .",
    "sudo rm -rf /",
    "sudo -u root rm -rf --no-preserve-root /",
    "env FOO=1 rm -rf /",
    "nice -n 5 timeout 10 rm -rf /home",
    "bash -c 'rm -rf /'",
    'sh -c "rm -rf ~"',
    "bash -lc 'cd / && rm -rf usr'",
    "echo $(rm -rf /)",
    "echo `rm -rf /etc`",
    "eval 'rm -rf /'",
    "echo 'rm -rf /' | sh",
    "bash <<EOF\nrm -rf /\nEOF",
    "ls && rm -rf / || true",
    "ls; rm -rf /boot &",
    ":(){ :|:& };:",
    "bomb() { bomb | bomb & }; bomb",
    "function f { f | f & }; f",
    "perl -e 'fork while fork'",
    "mkfs.ext4 /dev/sda1",
    "mkfs -t ext4 /dev/sdb",
    "mke2fs /dev/sda",
    "dd if=/dev/zero of=/dev/sda bs=1M",
    "dd if=/dev/urandom of=/dev/nvme0n1",
    "wipefs -a /dev/sda",
    "shred -n 3 /dev/sda",
    "fdisk /dev/sda",
    "parted /dev/sda mklabel gpt",
    "sfdisk /dev/sda < table",
    "echo garbage > /dev/sda",
    "cat /dev/zero > /dev/mem",
    "echo x | tee /dev/sdb",
    "cp image.iso /dev/sdc",
    "chmod -R 777 /",
    "chown -R nobody /",
    "chmod 777 /etc/passwd",
    "mount /dev/sda1 /mnt",
    "umount /",
    "shutdown -h now",
    "reboot",
    "sudo poweroff",
    "halt",
    "systemctl reboot",
    "kill -9 -1",
    "echo hacked > /etc/passwd",
    "echo x >> ~/.bashrc",
    "touch /usr/bin/evil",
    "mkdir /opt/evil",
    "mv src /usr/local/src",
    "mv /etc/hosts ./hosts",
    "cp payload /usr/bin/ls",
    "ln -s /etc/passwd /usr/bin/x",
    "sed -i 's/a/b/' /etc/hosts",
    "find / -name '*.py' -delete",
    "find ~ -exec rm {} \\;",
    "echo '[core]' > .git/config",
    "cp hook.sh .git/hooks/pre-push",
    "tee .git/hooks/pre-commit < hook.sh",
    "rm -rf .git",
    "mkdir -p sub/.git/hooks",
    "git config credential.helper '!f() { cat > /tmp/x; }; f'",
    "git config --local core.hooksPath hooks",
    "git config core.sshCommand 'ssh -i key'",
    "git config --global core.askPass /tmp/x",
    "git config filter.x.clean 'sh evil'",
    "git config includeIf.gitdir:/.path /tmp/evil",
    "git config url.https://evil.example/.insteadOf https://github.com/",
    "git config remote.origin.url https://evil.example/repo",
    "git -c core.fsmonitor='sh -c evil' status",
    "git -c credential.helper=store push",
    "git config set core.hooksPath /tmp/h",
    "git config user.email a@b.c",
    "echo 'unterminated",
    "cat list | xargs rm -rf",
    'rm -rf "$dir"',
]

EVERYDAY = [
    "ls -la",
    "pwd",
    "rm -rf build/",
    "rm -rf ./node_modules",
    "rm -rf dist build *.egg-info",
    "rm -f src/old.py",
    "rm -rf /tmp/scratch",
    "rm -r tests/__pycache__",
    "find . -name '*.pyc' -delete",
    "find . -name __pycache__ -exec rm -rf {} +",
    "dd if=a of=b",
    "dd if=/dev/zero of=blank.img bs=1M count=1",
    "git clean -fdx",
    "git status",
    "git diff",
    "git diff --stat HEAD~1",
    "git log --oneline -5",
    "git config --get user.name",
    "git config --list",
    "git -c color.ui=false diff",
    "git show HEAD:README.md",
    "pytest -q",
    "python -m pytest tests/ -x -q 2>&1 | tail -20",
    "npm test",
    "npm install && npm run build",
    "make -j2",
    "cargo test",
    "go test ./...",
    "cat README.md | grep -n TODO | head",
    "echo x > /dev/null",
    "echo hello > out.txt",
    "python script.py > log.txt 2>&1",
    "command -v python3 >/dev/null 2>&1 || echo missing",
    "ls nonexistent 2>/dev/null",
    "mkdir -p src/pkg && touch src/pkg/__init__.py",
    "cp -r src/a src/b",
    "mv old.py new.py",
    "cp /etc/hosts ./hosts.copy",
    "chmod +x scripts/run.sh",
    "chmod -R u+w build",
    "ln -s ../shared lib/shared",
    "sed -i 's/foo/bar/g' src/main.py",
    "cat > notes.md <<'EOF'\nrm -rf /\nEOF",
    "tee out.log < input.txt",
    "export PATH=$PATH:./bin && which tool",
    "cd src && ls",
    "cd /tmp && rm -rf work",
    "for f in *.txt; do echo $f; done",
    "if [ -f setup.py ]; then pip install -e .; fi",
    "sudo ls",
    "bash -c 'echo hi && ls'",
    "sh scripts/test.sh",
    "echo $(date) >> build.log",
    "kill -9 12345",
    "ps aux | grep python",
    "tar -czf /tmp/out.tgz src",
    "curl -s http://localhost:8000/health",
    "printf 'a\\nb\\n' | sort | uniq -c",
    "echo rm -rf / is dangerous",
    "grep -rn 'rm -rf /' docs/",
    "python -c 'print(1)'",
    "true && false || echo recovered",
    "sleep 1 &",
    "touch /tmp/marker",
    "ruff check . && mypy src",
]


@pytest.fixture(scope="module")
def policy(tmp_path_factory: pytest.TempPathFactory) -> CommandPolicy:
    workspace = tmp_path_factory.mktemp("ws") / "repo"
    (workspace / ".git" / "hooks").mkdir(parents=True)
    (workspace / "src").mkdir()
    return CommandPolicy(workspace, home=Path("/root-home-of-worker"))


def test_tables_are_large_enough() -> None:
    assert len(DANGEROUS) >= 40 and len(EVERYDAY) >= 40


@pytest.mark.parametrize("command", DANGEROUS)
def test_dangerous_commands_are_refused(policy: CommandPolicy, command: str) -> None:
    message = policy.check(command)
    assert message is not None, f"not refused: {command!r}"
    assert message.startswith("refused: ") and ";" in message


@pytest.mark.parametrize("command", EVERYDAY)
def test_everyday_commands_are_allowed(policy: CommandPolicy, command: str) -> None:
    assert policy.check(command) is None


def test_symlink_pointing_out_is_resolved(policy: CommandPolicy) -> None:
    link = policy.workspace / "escape"
    link.symlink_to("/etc")
    try:
        assert policy.check("rm -rf escape/") is not None
        assert policy.check("echo x > escape/passwd") is not None
        assert policy.check("rm escape") is None  # removes the link itself, inside the workspace
    finally:
        link.unlink()


def test_protected_paths_are_refused(tmp_path: Path) -> None:
    secret_dir = tmp_path / "worker-data"
    secret_dir.mkdir()
    policy = CommandPolicy(tmp_path / "ws", protected=[secret_dir])
    assert "belongs to the worker" in (policy.check(f"rm -rf {secret_dir}") or "")


def test_refusal_messages_say_why_and_what_instead(policy: CommandPolicy) -> None:
    assert "fork bomb" in (policy.check(":(){ :|:& };:") or "")
    assert "contains the workspace" in (policy.check("rm -rf /") or "")
    assert "home directory" in (policy.check("rm -rf ~") or "")
    assert ".git/" in (policy.check("echo x > .git/hooks/pre-push") or "")
    assert "device" in (policy.check("dd if=/dev/zero of=/dev/sda") or "")
