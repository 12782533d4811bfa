"""What commands print: aligned columns for people, JSON for scripts. Never a secret."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from authctl.errors import EXIT_OK


@dataclass
class Output:
    """A command's answer: ``data`` for --json, ``text`` for a terminal, and the exit code."""

    data: Any
    text: str
    code: int = EXIT_OK
    notes: list[str] = field(default_factory=list)  # to stderr in text mode (warnings, hints)


def clean(value: Any, width: int = 0) -> str:
    """One printable line: stored values (a user agent, a username) could carry terminal escapes."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = "".join(ch if ch.isprintable() else "?" for ch in str(value))
    if width and len(text) > width:
        text = text[: width - 1] + "…"
    return text


def table(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[tuple[str, str]],
    widths: Mapping[str, int] | None = None,
) -> str:
    """Rows as aligned columns; ``columns`` are (key, header) pairs."""
    if not rows:
        return "(none)"
    widths = widths or {}
    cells = [[clean(row.get(key), widths.get(key, 0)) for key, _ in columns] for row in rows]
    headers = [header for _, header in columns]
    sizes = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    lines = [headers, *cells]
    return "\n".join("  ".join(c.ljust(s) for c, s in zip(line, sizes, strict=True)).rstrip() for line in lines)


def fields(record: Mapping[str, Any]) -> str:
    """One record as "name: value" lines, names aligned."""
    size = max(len(k) for k in record)
    return "\n".join(f"{k + ':':{size + 1}} {clean(v)}" for k, v in record.items())


def to_json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, default=str)
