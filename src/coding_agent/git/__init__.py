"""Git for the coding agent: hardened clone, feature branch, commit and push with task credentials."""

from coding_agent.git.credentials import git_auth_env
from coding_agent.git.errors import GitError
from coding_agent.git.naming import branch_name, slugify
from coding_agent.git.repository import (
    changed_files,
    clone,
    commit_all,
    create_feature_branch,
    head_commit,
    push,
)
from coding_agent.git.urls import parse_remote

__all__ = [
    "GitError",
    "branch_name",
    "changed_files",
    "clone",
    "commit_all",
    "create_feature_branch",
    "git_auth_env",
    "head_commit",
    "parse_remote",
    "push",
    "slugify",
]
