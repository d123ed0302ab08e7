"""Read docker-compose.yml without a YAML library: the subset the file uses.

PyYAML is used when installed; otherwise this small, safe parser reads block
mappings and sequences, flow `[...]` and `{...}` collections, quoted and plain
scalars (kept as text), comments, anchors (`&name`), aliases (`*name`) and merge
keys (`<<: *name`). Anything outside that subset raises ValueError, so the file
cannot quietly grow a construct the tests misread.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

_KEY = re.compile(
    r"^(?P<key>[A-Za-z0-9_.<\-]+|\"[^\"]*\"|'[^']*'):(?:\s+(?P<rest>.*))?$"
)


def load(path: Path) -> Any:
    """Return the parsed document at `path` (PyYAML's safe_load if installed)."""
    text = path.read_text()
    try:
        import yaml  # type: ignore[import-untyped]
    except ImportError:
        return _Parser(text).document()
    return yaml.safe_load(text)


def _strip_comment(line: str) -> str:
    quote = ""
    for index, char in enumerate(line):
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char == "#" and (index == 0 or line[index - 1] in " \t"):
            return line[:index].rstrip()
    return line.rstrip()


def _split_flow(body: str) -> list[str]:
    """Split the inside of a flow collection at its top-level commas."""
    items, depth, quote, start = [], 0, "", 0
    for index, char in enumerate(body):
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == "," and depth == 0:
            items.append(body[start:index].strip())
            start = index + 1
    tail = body[start:].strip()
    return [*items, tail] if tail else items


class _Parser:
    def __init__(self, text: str) -> None:
        self.lines: list[tuple[int, str]] = []
        for raw in text.splitlines():
            if "\t" in raw[: len(raw) - len(raw.lstrip())]:
                raise ValueError(f"tab indentation: {raw!r}")
            line = _strip_comment(raw)
            if line.strip():
                self.lines.append((len(line) - len(line.lstrip()), line.strip()))
        self.at = 0
        self.anchors: dict[str, Any] = {}

    def document(self) -> Any:
        value = self.block(0)
        if self.at != len(self.lines):
            raise ValueError(f"unexpected line: {self.lines[self.at][1]!r}")
        return value

    def block(self, indent: int) -> Any:
        if self.at >= len(self.lines) or self.lines[self.at][0] < indent:
            return None
        indent = self.lines[self.at][0]
        if self.lines[self.at][1].startswith("- "):
            return self.sequence(indent)
        return self.mapping(indent)

    def sequence(self, indent: int) -> list[Any]:
        items = []
        while self.at < len(self.lines):
            level, text = self.lines[self.at]
            if level != indent or not text.startswith("- "):
                break
            self.at += 1
            items.append(self.scalar_or_flow(text[2:].strip()))
        return items

    def mapping(self, indent: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        while self.at < len(self.lines):
            level, text = self.lines[self.at]
            if level < indent:
                break
            if level > indent:
                raise ValueError(f"bad indentation: {text!r}")
            match = _KEY.match(text)
            if match is None:
                raise ValueError(f"not a mapping entry: {text!r}")
            self.at += 1
            key = self.scalar(match["key"])
            value = self.value(match["rest"] or "", indent)
            if key == "<<":
                result = {**value, **result}
            else:
                result[key] = value
        return result

    def value(self, rest: str, indent: int) -> Any:
        anchor = ""
        if rest.startswith("&"):
            anchor, _, rest = rest[1:].partition(" ")
            rest = rest.strip()
        value = self.scalar_or_flow(rest) if rest else self.block(indent + 1)
        if anchor:
            self.anchors[anchor] = value
        return value

    def scalar_or_flow(self, text: str) -> Any:
        if text.startswith("*"):
            return self.anchors[text[1:]]
        if text.startswith("["):
            if not text.endswith("]"):
                raise ValueError(f"multi-line flow sequence: {text!r}")
            return [self.scalar_or_flow(item) for item in _split_flow(text[1:-1])]
        if text.startswith("{"):
            if not text.endswith("}"):
                raise ValueError(f"multi-line flow mapping: {text!r}")
            pairs = {}
            for item in _split_flow(text[1:-1]):
                key, sep, value = item.partition(":")
                if not sep:
                    raise ValueError(f"not a flow mapping entry: {item!r}")
                pairs[self.scalar(key.strip())] = self.scalar_or_flow(value.strip())
            return pairs
        return self.scalar(text)

    @staticmethod
    def scalar(text: str) -> str:
        if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
            body = text[1:-1]
            return body.replace("''", "'") if text[0] == "'" else body
        if text[:1] in "|>&!%@`":
            raise ValueError(f"unsupported YAML: {text!r}")
        return text
