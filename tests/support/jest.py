"""Jest's matchers, as Immich's spec uses them, over JSON-able expectations.

An expectation is a value (equal, as ``toEqual``) or a one-key object naming a matcher:
``{"any": "Array"}``, ``{"arrayContaining": [...]}`` (every expected element equals some
element, in any order, asymmetric matchers inside), ``{"not.arrayContaining": [...]}``,
``{"stringContaining": s}``, ``{"stringMatching": regex}`` and ``{"not.stringContaining": s}``
(true for anything that is no string, as Jest's is). ``features`` splits an expectation into
the single claims it makes (each element of an ``arrayContaining`` is one), for a per-claim
agreement figure.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["features", "matches"]


def matches(expected: Any, received: Any) -> bool:
    if isinstance(expected, dict) and len(expected) == 1:
        (name, arg), = expected.items()
        if name == "any":
            return isinstance(received, {"Array": list, "String": str, "Number": (int, float)}[arg])
        if name == "arrayContaining":
            return isinstance(received, list) and all(
                any(matches(e, r) for r in received) for e in arg)
        if name == "not.arrayContaining":
            return not matches({"arrayContaining": arg}, received)
        if name == "stringContaining":
            return isinstance(received, str) and arg in received
        if name == "stringMatching":
            return isinstance(received, str) and re.search(arg, received) is not None
        if name == "not.stringContaining":
            return not isinstance(received, str) or arg not in received
        raise ValueError(f"unknown matcher {name}")
    return bool(expected == received)


def features(expected: Any) -> list[Any]:
    """The single claims an expectation makes, each an expectation of its own."""
    if isinstance(expected, dict) and list(expected) == ["arrayContaining"]:
        return [{"arrayContaining": [e]} for e in expected["arrayContaining"]]
    return [expected]
