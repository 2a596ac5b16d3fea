"""A small evaluator for the subset of Velocity (VTL) that API Gateway mapping templates here use.

Enough to render the prediction API's templates offline: ``##`` comments, ``#set``, ``#if`` /
``#elseif`` / ``#else`` / ``#end``, references with properties and method calls (``$input.path('$.x')``,
``$util.escapeJavaScript(...)``, ``$context.requestId``, Java string methods), ``$!quiet`` references,
interpolated double-quoted and literal single-quoted strings, integers, comparisons, ``&&``, ``||``
and ``!``. Anything else raises :class:`VtlError`, so a template that outgrows the subset fails its
test instead of being rendered wrongly. What API Gateway's own engine does with a template is for
AWS to show (the README says so); this checks the logic the templates spell out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


class VtlError(Exception):
    """The template uses something outside the supported subset."""


_UNRESOLVED = object()


def escape_javascript(text: str) -> str:
    """Java's StringEscapeUtils.escapeJavaScript (what API Gateway's $util.escapeJavaScript is documented to use)."""
    out = []
    for char in text:
        code = ord(char)
        if char in "\\\"'/":
            out.append("\\" + char)
        elif char in "\b\f\n\r\t":
            out.append({"\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}[char])
        elif code < 32 or code > 0x7E:
            units = char.encode("utf-16-be")  # Java strings are UTF-16: one escape per code unit
            out.append("".join(f"\\u{int.from_bytes(units[i : i + 2], 'big'):04X}" for i in range(0, len(units), 2)))
        else:
            out.append(char)
    return "".join(out)


def _json_path(document: Any, path: str) -> Any:
    if path == "$":
        return document
    if not re.fullmatch(r"\$(\.[A-Za-z_][A-Za-z0-9_]*)+", path):
        raise VtlError(f"JSONPath {path!r} is outside the subset ($.field.field)")
    value = document
    for part in path.split(".")[1:]:
        value = value.get(part) if isinstance(value, dict) else None
    return value


@dataclass
class Input:
    body: str

    def path(self, json_path: str) -> Any:
        try:
            document = json.loads(self.body) if self.body.strip() else {}
        except json.JSONDecodeError:
            return None
        return _json_path(document, json_path)


class Util:
    @staticmethod
    def escapeJavaScript(text: Any) -> str:  # noqa: N802 - the VTL name
        return escape_javascript("" if text is None else str(text))


_STRING_METHODS: dict[str, Callable[..., Any]] = {
    "toLowerCase": lambda s: s.lower(),
    "contains": lambda s, x: str(x) in s,
    "indexOf": lambda s, x: s.find(str(x)),
    "substring": lambda s, a, b=None: s[a:b],
    "trim": lambda s: s.strip(),
    "isEmpty": lambda s: s == "",
    "length": lambda s: len(s),
    # Java's String.replaceAll: a regex and a replacement (no group references used here).
    "replaceAll": lambda s, pattern, replacement: re.sub(pattern, replacement.replace("\\", "\\\\"), s),
}


@dataclass
class Rendered:
    body: str
    status_override: int | None
    variables: dict[str, Any] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.body)


class _Parser:
    def __init__(self, text: str, scope: dict[str, Any]) -> None:
        self.text, self.pos, self.scope = text, 0, scope

    # --- lexing helpers
    def peek(self, literal: str) -> bool:
        return self.text.startswith(literal, self.pos)

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in " \t":
            self.pos += 1

    def expect(self, literal: str) -> None:
        self.skip_space()
        if not self.peek(literal):
            raise VtlError(f"expected {literal!r} at {self.text[self.pos : self.pos + 30]!r}")
        self.pos += len(literal)

    # --- expressions
    def expression(self) -> Any:
        left = self.conjunction()
        while self.skip_space() or self.peek("||"):
            self.pos += 2
            right = self.conjunction()
            left = bool(left) or bool(right)
        return left

    def conjunction(self) -> Any:
        left = self.comparison()
        while self.skip_space() or self.peek("&&"):
            self.pos += 2
            right = self.comparison()
            left = bool(left) and bool(right)
        return left

    def comparison(self) -> Any:
        left = self.unary()
        self.skip_space()
        for operator in ("==", "!=", ">=", "<=", ">", "<"):
            if self.peek(operator):
                self.pos += len(operator)
                right = self.unary()
                return _compare(operator, left, right)
        return left

    def unary(self) -> Any:
        self.skip_space()
        if self.peek("!") and not self.peek("!="):
            self.pos += 1
            return not self.unary()
        if self.peek("("):
            self.pos += 1
            value = self.expression()
            self.expect(")")
            return value
        return self.value()

    def value(self) -> Any:
        self.skip_space()
        if self.peek('"'):
            end = self._string_end('"')
            raw = self.text[self.pos + 1 : end]
            self.pos = end + 1
            return interpolate(raw, self.scope)
        if self.peek("'"):
            end = self._string_end("'")
            raw = self.text[self.pos + 1 : end]
            self.pos = end + 1
            return raw
        number = re.compile(r"-?\d+").match(self.text, self.pos)
        if number:
            self.pos = number.end()
            return int(number.group())
        for word, constant in (("true", True), ("false", False), ("null", None)):
            if self.peek(word):
                self.pos += len(word)
                return constant
        if self.peek("$"):
            value = self.reference()
            return None if value is _UNRESOLVED else value
        raise VtlError(f"unsupported expression at {self.text[self.pos : self.pos + 30]!r}")

    def _string_end(self, quote: str) -> int:
        end = self.text.find(quote, self.pos + 1)
        if end < 0:
            raise VtlError(f"unterminated string at {self.text[self.pos : self.pos + 30]!r}")
        return end

    def reference_path(self) -> tuple[bool, list[tuple[str, list[Any] | None]]]:
        """``$!name.prop.method(args)``: (quiet, [(name, args or None)])."""
        self.expect("$")
        quiet = self.peek("!")
        if quiet:
            self.pos += 1
        parts: list[tuple[str, list[Any] | None]] = []
        while True:
            name = re.compile(r"[A-Za-z_][A-Za-z0-9_]*").match(self.text, self.pos)
            if not name:
                raise VtlError(f"bad reference at {self.text[self.pos : self.pos + 30]!r}")
            self.pos = name.end()
            args: list[Any] | None = None
            if self.peek("("):
                self.pos += 1
                args = []
                self.skip_space()
                while not self.peek(")"):
                    args.append(self.expression())
                    self.skip_space()
                    if self.peek(","):
                        self.pos += 1
                self.pos += 1
            parts.append((name.group(), args))
            if self.peek(".") and re.compile(r"\.[A-Za-z_]").match(self.text, self.pos):
                self.pos += 1
                continue
            return quiet, parts

    def reference(self) -> Any:
        start = self.pos
        quiet, parts = self.reference_path()
        value: Any = self.scope.get(parts[0][0], _UNRESOLVED)
        if parts[0][1] is not None:
            raise VtlError("a reference cannot start with a call")
        for name, args in parts[1:]:
            if value is _UNRESOLVED or value is None:
                value = _UNRESOLVED
                break
            value = _member(value, name, args)
        if value is _UNRESOLVED or value is None:
            return "" if quiet else (_UNRESOLVED if not self.in_text else self.text[start : self.pos])
        return value

    in_text = False


def _member(value: Any, name: str, args: list[Any] | None) -> Any:
    if isinstance(value, str):
        if name not in _STRING_METHODS:
            raise VtlError(f"string method {name!r} is outside the subset")
        return _STRING_METHODS[name](value, *(args or []))
    if isinstance(value, Mapping):
        if args is not None:
            raise VtlError(f"cannot call {name}() on a map")
        return value.get(name)
    attribute = getattr(value, name, None)
    if attribute is None:
        raise VtlError(f"{type(value).__name__} has no {name!r} in the subset")
    return attribute(*args) if args is not None else attribute


def _compare(operator: str, left: Any, right: Any) -> bool:
    if operator == "==":
        return left == right
    if operator == "!=":
        return left != right
    if left is None or right is None:
        return False  # Velocity: an ordering comparison with null is false
    return {">=": left >= right, "<=": left <= right, ">": left > right, "<": left < right}[operator]


def interpolate(text: str, scope: dict[str, Any]) -> str:
    """Text with references rendered (unresolved ones stay as written, quiet ones vanish)."""
    out, pos = [], 0
    for match in re.finditer(r"\$!?[A-Za-z_]", text):
        if match.start() < pos:
            continue
        out.append(text[pos : match.start()])
        parser = _Parser(text, scope)
        parser.in_text = True
        parser.pos = match.start()
        value = parser.reference()
        out.append(value if isinstance(value, str) else _render_value(value))
        pos = parser.pos
    out.append(text[pos:])
    return "".join(out)


def _render_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


_DIRECTIVE = re.compile(r"#(set|if|elseif)\s*\(|#else\b|#end\b")


def _balanced(text: str, start: int) -> int:
    """The index of the ``)`` closing the ``(`` just before ``start`` (quotes respected)."""
    depth, pos, quote = 1, start, ""
    while pos < len(text):
        char = text[pos]
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return pos
        pos += 1
    raise VtlError("unbalanced parentheses in a directive")


def render(template: str, *, body: str = "", request_id: str = "req-1", variables: Mapping[str, Any] | None = None) -> Rendered:
    """Render ``template`` with ``$input`` over ``body`` (the integration's answer, or the request)."""
    override: dict[str, Any] = {}
    scope: dict[str, Any] = {
        "input": Input(body),
        "util": Util(),
        "context": {"requestId": request_id, "responseOverride": override, "requestOverride": {}},
        **(variables or {}),
    }
    source = "\n".join(line for line in template.split("\n") if not line.lstrip().startswith("##"))
    if "##" in source or "#foreach" in source or "#macro" in source:
        raise VtlError("inline comments, #foreach and #macro are outside the subset")
    out: list[str] = []
    # A stack of (this branch is taken, some branch of this #if was taken).
    stack: list[tuple[bool, bool]] = []
    pos = 0
    for match in _DIRECTIVE.finditer(source):
        if match.start() < pos:
            continue
        active = all(taken for taken, _ in stack)
        if active:
            out.append(interpolate(source[pos : match.start()], scope))
        keyword = match.group(1) or match.group().lstrip("#")
        if keyword in ("set", "if", "elseif"):
            close = _balanced(source, match.end())
            argument = source[match.end() : close]
            pos = close + 1
        else:
            argument, pos = "", match.end()
        if keyword == "set":
            if active:
                _assign(argument, scope)
        elif keyword == "if":
            taken = active and bool(_evaluate(argument, scope))
            stack.append((taken, taken))
        elif keyword == "elseif":
            _, done = stack.pop()
            outer = all(taken for taken, _ in stack)
            taken = outer and not done and bool(_evaluate(argument, scope))
            stack.append((taken, done or taken))
        elif keyword == "else":
            _, done = stack.pop()
            stack.append((not done, True))
        else:
            stack.pop()
        # A directive alone on its line leaves no line behind (as Velocity does).
        if pos < len(source) and source[pos] == "\n" and (match.start() == 0 or source[match.start() - 1] == "\n"):
            pos += 1
    if stack:
        raise VtlError("#if without #end")
    out.append(interpolate(source[pos:], scope))
    status = override.get("status")
    return Rendered("".join(out), None if status is None else int(status), {k: v for k, v in scope.items() if k not in ("input", "util")})


def _evaluate(argument: str, scope: dict[str, Any]) -> Any:
    parser = _Parser(argument, scope)
    value = parser.expression()
    parser.skip_space()
    if parser.pos != len(argument):
        raise VtlError(f"unparsed rest of expression: {argument[parser.pos :]!r}")
    return value


def _assign(argument: str, scope: dict[str, Any]) -> None:
    parser = _Parser(argument, scope)
    _, parts = parser.reference_path()
    parser.expect("=")
    value = parser.expression()
    if any(args is not None for _, args in parts):
        raise VtlError("#set to a method call")
    names = [name for name, _ in parts]
    if len(names) == 1:
        scope[names[0]] = value
        return
    target = scope[names[0]]
    for name in names[1:-1]:
        target = target[name]
    target[names[-1]] = value
