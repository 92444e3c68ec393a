"""How the stack config's mistakes are told: one line per broken rule, naming the key, the value and the rule.

The values arrive as the language host hands them over; secrets are never shown, nor credentials in a URL.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import ValidationError

NAMESPACE = "aks-estate"
SECRET_PLACEHOLDER = "[secret]"


def decode(value: Any) -> Any:
    """Structured config arrives JSON-encoded; scalars arrive as plain strings that pydantic coerces itself."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


_MISSING = object()


def _location(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        elif parts:
            parts.append(f".{part}")
        else:
            parts.append(part)
    return "".join(parts)


def format_errors(error: ValidationError, secret_keys: frozenset[str]) -> str:
    def line(loc: tuple[int | str, ...], value: Any, rule: str) -> str:
        if isinstance(value, str):
            # A clone URL with credentials in it must not reach the console.
            value = re.sub(r"(?<=://)[^/@\s]+@", "[credentials]@", value)
        shown = "(missing)" if value is _MISSING else json.dumps(value, default=str)
        # A map key under a secret (a secret's name) is no secret; pydantic marks its place with "[key]".
        if loc and str(loc[0]) in secret_keys and loc[-1] != "[key]":
            shown = SECRET_PLACEHOLDER
        loc = tuple(part for part in loc if part != "[key]")
        return f"{NAMESPACE}:{_location(loc)} = {shown}: {rule}"

    items = [
        (tuple(p for p in item["loc"] if not (isinstance(p, str) and p.startswith(("function-", "json-")))), item)
        for item in error.errors(include_url=False)
    ]
    lines = []
    for loc, item in items:
        # pydantic also reports a list whose only item failed as too short; the item's own line says it all.
        if item["type"] == "too_short" and any(
            len(other) > len(loc) and other[: len(loc)] == loc for other, _ in items
        ):
            continue
        if item["type"] == "estate_rule":
            for key, value, rule in item["ctx"]["violations"]:
                lines.append(line((*loc, key), value, rule))
        elif item["type"] == "missing":
            lines.append(line(loc, _MISSING, "is required"))
        elif item["type"] == "extra_forbidden":
            lines.append(line(loc, item["input"], "is not a setting this stack knows (README.md, Configuration)"))
        elif item["type"] == "too_short":
            lines.append(line(loc, item["input"], f"needs at least {item['ctx']['min_length']} item(s)"))
        else:
            lines.append(line(loc, item["input"], item["msg"].removeprefix("Value error, ")))
    return refusal(lines)


def refusal(lines: list[str]) -> str:
    return "invalid stack configuration:\n  " + "\n  ".join(lines)
