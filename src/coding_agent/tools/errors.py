"""The two ways a tool call fails because of what the model asked for.

``ToolError`` is a mistake the model can fix (a missing file, an ambiguous edit, a bad argument);
``ToolRefused`` is an action the product will not perform (a path outside the workspace, a dangerous
command). Both carry a message written for the model: what happened and what to do instead. The
toolbox turns them into ``ToolResult`` outcomes ``error`` and ``refused``; they never escape it.
"""

from __future__ import annotations


class ToolError(Exception):
    """A model mistake; the message says how to fix the call."""


class ToolRefused(ToolError):
    """An action refused by the product's safety rules; the message says why and what to do instead."""
