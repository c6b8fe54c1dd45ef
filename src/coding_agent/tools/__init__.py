"""The agent's tools: file tools confined to the workspace, a policed and sandboxed shell, and the
``Toolbox`` that executes the model's tool calls (see docs/tools.md)."""

from coding_agent.tools.errors import ToolError, ToolRefused
from coding_agent.tools.registry import TOOL_SCHEMAS, Toolbox, redacted_arguments

__all__ = ["TOOL_SCHEMAS", "ToolError", "ToolRefused", "Toolbox", "redacted_arguments"]
