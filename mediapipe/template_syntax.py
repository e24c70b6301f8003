"""The syntax of Immich's storage templates: a Handlebars subset, parsed once, filled per asset.

Owns: ``{{var}}`` (HTML-escaped, as Handlebars does), ``{{{var}}}`` (raw) and
``{{#if var}}…{{else}}…{{/if}}``: parsing a template into a tree of nodes (a name outside the set
the caller knows is refused), filling the tree from a lookup of values, and ``TemplateError``.
Does not own: which variables exist or what they hold, or what makes a path legal (``template``).

Entry points: ``parse(source, known) -> Nodes``, ``fill(nodes, value) -> str``, ``TemplateError``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable

from mediapipe.errors import ConfigError

__all__ = ["TEMPLATE_KEY", "Nodes", "TemplateError", "fill", "parse"]

TEMPLATE_KEY = "storageTemplate.template"

_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;", "`": "&#x60;",
         "=": "&#x3D;"}
_MUSTACHE = re.compile(r"\{\{\{(.*?)\}\}\}|\{\{(.*?)\}\}", re.DOTALL)
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]*")


class TemplateError(ConfigError):
    """A template that cannot be compiled or would leave the owner's folder; names the token."""

    def __init__(self, token: str, message: str) -> None:
        self.token = token
        self.detail = f"{token}: {message}"
        super().__init__(TEMPLATE_KEY, self.detail)


@dataclasses.dataclass(frozen=True)
class _Text:
    text: str


@dataclasses.dataclass(frozen=True)
class _Var:
    name: str
    escape: bool


@dataclasses.dataclass(frozen=True)
class _If:
    name: str
    then: tuple[_Node, ...]
    otherwise: tuple[_Node, ...]


_Node = _Text | _Var | _If
Nodes = tuple[_Node, ...]


def parse(source: str, known: frozenset[str]) -> Nodes:
    """``source`` as a tree of nodes; ``TemplateError`` names the first token that is not
    well-formed, a block other than ``#if``, or a variable outside ``known``."""
    stack: list[tuple[str, list[_Node], list[_Node] | None, str]] = []
    current: list[_Node] = []
    pos = 0
    for match in _MUSTACHE.finditer(source):
        _add_text(source[pos:match.start()], current)
        pos = match.end()
        token = match.group(0)
        raw = match.group(1) is not None
        inner = (match.group(1) if raw else match.group(2)).strip()
        if not raw and inner.startswith("#if "):
            name = _known_name(inner[4:].strip(), token, known)
            stack.append((name, current, None, token))
            current = []
        elif not raw and inner == "else":
            if not stack or stack[-1][2] is not None:
                raise TemplateError(token, "{{else}} outside an {{#if}} block")
            name, parent, _, opener = stack.pop()
            stack.append((name, parent, current, opener))
            current = []
        elif not raw and inner == "/if":
            if not stack:
                raise TemplateError(token, "{{/if}} without an {{#if}}")
            name, parent, then, _ = stack.pop()
            node = _If(name, tuple(then if then is not None else current),
                       tuple(current) if then is not None else ())
            parent.append(node)
            current = parent
        else:
            current.append(_Var(_known_name(inner, token, known), escape=not raw))
    _add_text(source[pos:], current)
    if stack:
        raise TemplateError(stack[-1][3], "this {{#if}} is never closed with {{/if}}")
    return tuple(current)


def _add_text(text: str, into: list[_Node]) -> None:
    """Append literal ``text`` (if any) to ``into``; a stray ``{{`` in it is an error."""
    if "{{" in text:
        start = text.index("{{")
        raise TemplateError(text[start:start + 20], "an opening {{ without its closing }}")
    if text:
        into.append(_Text(text))


def _known_name(name: str, token: str, known: frozenset[str]) -> str:
    """``name`` when it is a well-formed variable name in ``known``; else ``TemplateError``."""
    if not _NAME.fullmatch(name):
        raise TemplateError(token, "not a variable or a supported block (only {{#if}} is)")
    if name not in known:
        raise TemplateError(token, f"unknown variable {name!r}")
    return name


def fill(nodes: Nodes, value: Callable[[str], str]) -> str:
    """The text of ``nodes`` with each variable's ``value`` (escaped unless it was ``{{{raw}}}``);
    an ``{{#if}}`` takes its first branch when the value is not empty."""
    return "".join(_fill(nodes, value))


def _fill(nodes: Nodes, value: Callable[[str], str]) -> list[str]:
    out: list[str] = []
    for node in nodes:
        if isinstance(node, _Text):
            out.append(node.text)
        elif isinstance(node, _Var):
            v = value(node.name)
            out.append("".join(_HTML.get(c, c) for c in v) if node.escape else v)
        else:
            out.extend(_fill(node.then if value(node.name) else node.otherwise, value))
    return out
