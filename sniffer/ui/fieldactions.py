"""What the detail tree's field menu does, without Textual: a field as a display filter (checked against
the packet it came from), filters combined like Wireshark's Apply/Prepare as Filter, the tree as text."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sniffer.ui.adapters import DNode

# (key, action, label): the field menu (x in the TUI), in Wireshark's context-menu order
MENU: list[tuple[str, str, str]] = [
    ("a", "apply", "Apply as filter"),
    ("p", "prepare", "Prepare as filter (edit it in the filter bar)"),
    ("n", "and", "… and selected (apply)"),
    ("o", "or", "… or selected (apply)"),
    ("t", "not", "Not selected (apply)"),
    ("d", "and_not", "… and not selected (apply)"),
    ("v", "copy_value", "Copy value"),
    ("f", "copy_field", "Copy field name"),
    ("b", "copy_bytes", "Copy bytes as hex"),
    ("r", "copy_tree", "Copy the whole tree as text"),
    ("c", "column", "Add as column"),
    ("e", "expand_all", "Expand all"),
    ("l", "collapse_all", "Collapse all"),
]


def field_value(fields: dict[str, Any], node: DNode, root: DNode | None) -> Any:
    """The value of the field ``node`` shows: for a field that occurs several times (a list in
    ``fields``), the occurrence in the tree's order."""
    value = fields.get(node.field)
    if isinstance(value, list) and value:
        k = 0
        if root is not None:
            for d in root.walk():
                if d is node:
                    break
                if d.field == node.field:
                    k += 1
        value = value[k] if k < len(value) else value[0]
    return value


def value_text(value: Any) -> str:
    """A value as Wireshark writes it in a filter or a copy: bytes as colon hex, booleans as 1/0."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (bytes, bytearray)):
        return value.hex(":")
    return str(value)


def field_filter(name: str, value: Any, matches: Callable[[str], bool]) -> str:
    """``name == value`` in the filter syntax, the first spelling that matches the packet (``matches``
    compiles and evaluates it there); the field's presence when no spelling does."""
    if value is None or value == "":
        return name
    text = value_text(value)
    candidates = [f"{name} == {text}"]
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        candidates.append(f'{name} == "{escaped}"')
    for c in candidates:
        try:
            if matches(c):
                return c
        except Exception:
            continue
    return name


def combine(action: str, current: str, expr: str) -> str:
    """The filter that Apply / and / or / not / and not selected gives from the current one."""
    cur = current.strip()
    if action in ("apply", "prepare"):
        return expr
    if action == "not":
        return f"!({expr})"
    if not cur:
        return f"!({expr})" if action == "and_not" else expr
    if action == "and":
        return f"({cur}) && ({expr})"
    if action == "or":
        return f"({cur}) || ({expr})"
    if action == "and_not":
        return f"({cur}) && !({expr})"
    raise ValueError(action)


def tree_text(root: DNode) -> str:
    """The whole detail tree as indented text (what Wireshark's Copy > All Visible Items gives, opened)."""
    lines: list[str] = []

    def walk(node: DNode, depth: int) -> None:
        for child in node.children:
            lines.append("    " * depth + child.text)
            walk(child, depth + 1)

    walk(root, 0)
    return "\n".join(lines) + "\n"
