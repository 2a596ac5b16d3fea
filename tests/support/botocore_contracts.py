"""Check the API requests a Step Functions state machine sends against botocore's service models.

Three parts:

- **Integrations.** A Task's ``Resource`` names an optimized integration
  (``arn:aws:states:::sagemaker:createTrainingJob.sync``) or an AWS SDK integration
  (``arn:aws:states:::aws-sdk:s3:listObjectsV2``); :func:`integration_of` maps it to botocore's
  service and operation, and to the names Step Functions gives that integration's errors.
- **Validation.** :func:`validate_request` checks an evaluated request against the operation's
  input shape (unknown and required members, types, enums, lengths, ranges, patterns), the
  cross-member rules of ``ml_constructs.aws_facts.requests`` and Step Functions' payload limit.
  botocore's own ParamValidator runs too, as a second opinion.
- **Simulation.** :func:`simulate` walks a JSONata-mode definition from ``StartAt`` the way Step
  Functions runs it (``Arguments``, ``Assign``, ``Output``, ``Choice`` conditions, ``Catch``),
  evaluating every ``{% %}`` with the real ``jsonata`` package, so requests are checked with the
  variables a run really carries. Runs advance in lockstep: one batch per round, for all
  runs of all state machines at once.
"""

from __future__ import annotations

import html
import json
import re
import uuid
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any, Literal

import botocore.session

# `regex` reads Java's Unicode classes (\p{L}, \p{N}) and nested classes, which `re` cannot; it
# comes with cfn-lint (requirements-dev.txt).
import regex
from botocore.model import OperationModel, ServiceModel, Shape, StructureShape
from botocore.validate import ParamValidator

from ml_constructs.aws_facts import requests as facts
from tests.support.asl import Undefined, definition_of, node_request

_SESSION = botocore.session.get_session()


class ContractError(AssertionError):
    """The definition uses something this checker cannot map or simulate: say what to add."""


# --- botocore models -----------------------------------------------------------------------------


@cache
def service_model(service: str) -> ServiceModel:
    """botocore's model of ``service``, loaded once per session."""
    return _SESSION.get_service_model(service)


def html_text(documentation: str) -> str:
    """botocore's HTML documentation as plain text with single spaces (for quoting sentences).

    Block tags separate words; inline ones (``<code>``, ``<i>``, ``<a>``) vanish, so
    ``<code>Tags</code>,`` reads ``Tags,``.
    """
    text = re.sub(r"</?(?:p|li|ul|ol|br|dl|dt|dd|note|important|h\d)\b[^>]*>", " ", documentation)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", text))).strip()


def documentation_of(source: facts.BotocoreDocumentation) -> str:
    shape = service_model(source.service).shape_for(source.shape)
    assert isinstance(shape, StructureShape), f"{source.service} {source.shape} is not a structure"
    assert source.member in shape.members, f"{source.service} {source.shape} has no member {source.member}"
    return html_text(shape.members[source.member].documentation)


# --- Integrations --------------------------------------------------------------------------------

_OPTIMIZED = re.compile(
    r"^arn:aws[a-z-]*:states:::(?P<service>[a-z0-9-]+):(?P<action>[A-Za-z0-9]+)(?P<pattern>\.sync(?::2)?|\.waitForTaskToken)?$"
)
_AWS_SDK = re.compile(r"^arn:aws[a-z-]*:states:::aws-sdk:(?P<service>[a-z0-9]+):(?P<action>[A-Za-z0-9]+)(?P<pattern>\.waitForTaskToken)?$")


@dataclass(frozen=True)
class Integration:
    resource: str
    kind: Literal["optimized", "aws-sdk"]
    service: str
    """botocore's name for the service."""
    operation: str
    pattern: str
    """``""`` (request and response), ``.sync`` or ``.waitForTaskToken``."""
    errors: facts.ErrorNames

    @property
    def input_shape(self) -> StructureShape:
        shape = self.operation_model.input_shape
        assert isinstance(shape, StructureShape)
        return shape

    @property
    def operation_model(self) -> OperationModel:
        return service_model(self.service).operation_model(self.operation)

    @property
    def result_operation(self) -> OperationModel:
        """The operation whose response is the task's result (``.sync`` jobs: the Describe* call)."""
        if self.pattern.startswith(".sync"):
            return service_model(self.service).operation_model(facts.SYNC_RESULTS[(self.service, self.operation)])
        return self.operation_model

    @property
    def pascal_case_members(self) -> bool:
        """AWS SDK integrations spell every member in PascalCase, whatever the API's own casing."""
        return self.kind == "aws-sdk"

    def __str__(self) -> str:
        return f"{self.service} {self.operation} ({self.resource})"


def integration_of(resource: str) -> Integration:
    """The botocore service and operation a Task ``Resource`` calls, and its error naming."""
    if match := _AWS_SDK.match(resource):
        service = facts.AWS_SDK_SERVICES.get(match["service"])
        if service is None:
            raise ContractError(
                f"{resource}: no entry for aws-sdk service {match['service']!r} in ml_constructs.aws_facts.requests.AWS_SDK_SERVICES "
                "(botocore's name and the exception prefix from Step Functions' table of AWS SDK integrations)"
            )
        kind: Literal["optimized", "aws-sdk"] = "aws-sdk"
        botocore_name, errors = service.botocore, service.errors
    elif match := _OPTIMIZED.match(resource):
        errors_or_none = facts.OPTIMIZED_ERRORS.get(match["service"])
        if errors_or_none is None:
            raise ContractError(
                f"{resource}: no entry for optimized integration {match['service']!r} in aws_facts.requests.OPTIMIZED_ERRORS"
            )
        kind, botocore_name, errors = "optimized", match["service"], errors_or_none
    else:
        raise ContractError(f"{resource} is neither an optimized nor an AWS SDK Step Functions integration")
    action = match["action"]
    operation = action[0].upper() + action[1:]
    if operation not in service_model(botocore_name).operation_names:
        raise ContractError(f"{resource}: botocore's {botocore_name} model has no operation {operation}")
    pattern = match["pattern"] or ""
    if pattern.startswith(".sync") and (botocore_name, operation) not in facts.SYNC_RESULTS:
        raise ContractError(f"{resource}: add the operation a .sync {operation} returns to aws_facts.requests.SYNC_RESULTS")
    return Integration(resource, kind, botocore_name, operation, pattern, errors)


# --- Error names -----------------------------------------------------------------------------------


def step_functions_error_name(shape_name: str) -> str:
    """Step Functions always adds the ``Exception`` suffix (S3's ``NoSuchKey`` is ``S3.NoSuchKeyException``)."""
    return shape_name if shape_name.endswith(facts.EXCEPTION_SUFFIX) else shape_name + facts.EXCEPTION_SUFFIX


@cache
def modeled_errors(service: str) -> Mapping[str, str]:
    """Error name → botocore shape, for every error shape the service's model declares."""
    model = service_model(service)
    shapes = {name for name in model.shape_names if model.shape_for(name).metadata.get("exception")}
    for operation in model.operation_names:
        shapes.update(error.name for error in model.operation_model(operation).error_shapes)
    return {step_functions_error_name(shape): shape for shape in sorted(shapes)}


def allowed_error_names(integration: Integration) -> dict[str, str]:
    """Every ``<prefix>.<name>`` the integration can report → where that name comes from."""
    prefix = integration.errors.prefix
    allowed = {
        f"{prefix}.{name}": f"botocore {integration.service} error shape {shape}"
        for name, shape in modeled_errors(integration.service).items()
    }
    allowed.update({f"{prefix}.{name}": f"aws_facts.requests: {meaning}" for name, meaning in integration.errors.unmodeled.items()})
    return allowed


def error_name_problem(integration: Integration, name: str) -> str | None:
    """Why ``name`` in a Retry or Catch of this Task can never match, or None when it can."""
    if name.startswith("States."):
        return None if name in facts.STATES_ERRORS else "not one of Step Functions' predefined States.* error names"
    allowed = allowed_error_names(integration)
    if name in allowed:
        return None
    prefix, _, error = name.partition(".")
    expected = integration.errors.prefix
    if prefix != expected:
        hint = f"; {expected}.{error} would be a known name" if f"{expected}.{error}" in allowed else ""
        return f"{integration.kind} {integration.service} integrations report errors as {expected}.<name>, never {prefix}.<name>{hint}"
    if f"{expected}.{step_functions_error_name(error)}" in allowed and not error.endswith(facts.EXCEPTION_SUFFIX):
        return f"Step Functions adds the Exception suffix: {expected}.{step_functions_error_name(error)}"
    base = error.removesuffix(facts.EXCEPTION_SUFFIX)
    carriers = [name for name, meaning in integration.errors.unmodeled.items() if base and base in meaning]
    hint = f"; {base} arrives as {', '.join(f'{expected}.{name}' for name in carriers)}" if carriers else ""
    return f"{error} is neither an error shape of botocore's {integration.service} model nor a name Step Functions documents for it{hint}"


# --- Java patterns ---------------------------------------------------------------------------------

# POSIX classes are US-ASCII in Java (no UNICODE_CHARACTER_CLASS flag); the `regex` module would read
# \p{Alpha} as Unicode's Alphabetic, so they are spelled out.
_POSIX_CLASSES = {
    "Lower": "a-z",
    "Upper": "A-Z",
    "ASCII": "\\x00-\\x7F",
    "Alpha": "a-zA-Z",
    "Digit": "0-9",
    "Alnum": "a-zA-Z0-9",
    "Punct": "!-/:-@\\[-`{-~",
    "Graph": "!-~",
    "Print": " -~",
    "Blank": " \\t",
    "Cntrl": "\\x00-\\x1F\\x7F",
    "XDigit": "0-9a-fA-F",
    "Space": " \\t\\n\\x0B\\f\\r",
}
# Java's \d \w \s are ASCII too, while Python's are Unicode for str patterns.
_SHORTHANDS = {"d": "0-9", "w": "a-zA-Z_0-9", "s": " \\t\\n\\x0B\\f\\r"}
_JAVA_LINE_TERMINATORS = "\\n\\r\\u0085\\u2028\\u2029"
_JAVA_END = f"(?=(?:\\r\\n|[{_JAVA_LINE_TERMINATORS}])?\\Z)"
_QUANTIFIER = re.compile(r"\{\d+(?:,\d*)?\}[?+]?|[*+?][?+]?")
_UNSUPPORTED_ESCAPES = set("hHvVRXGk")


class UnsupportedPatternError(ContractError):
    pass


def translate_java_pattern(pattern: str) -> str:
    """A `regex` (V1 syntax) pattern that accepts what Java's ``Pattern`` accepts.

    botocore copies the services' patterns, which the services evaluate as Java regexes. What
    differs from Python and is translated: ``\\uD83D\\uDE80`` surrogate pairs (one code point, not
    two), POSIX ``\\p{Alnum}``-style classes and ``\\d \\w \\s`` (ASCII in Java), ``.`` (no line
    terminator of any kind in Java), ``$`` and ``\\Z`` (end, or before a final line terminator),
    ``\\z`` and ``\\Q...\\E``; a quantified ``$`` (botocore has ``${1,256}``) is just ``$``.
    Unicode categories (``\\p{L}``), lookarounds, possessive quantifiers and nested or intersected
    classes mean the same in the `regex` module's V1 mode. Anything else Java-specific raises
    :class:`UnsupportedPatternError` rather than being guessed at.
    """
    out: list[str] = []
    depth = 0
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i = _translate_escape(pattern, i, out)
            continue
        if char == "[":
            depth += 1
            out.append(char)
            if pattern.startswith("^", i + 1):
                out.append("^")
                i += 1
        elif char == "]" and depth:
            depth -= 1
            out.append(char)
        elif depth and char in "|~":
            # Literal in a Java class; doubled, they are set operators in V1.
            out.append("\\" + char)
        elif depth and pattern.startswith("--", i):
            raise UnsupportedPatternError(f"'--' in a class of {pattern!r}: a Java range, a V1 set difference")
        elif char == "." and not depth:
            out.append(f"[^{_JAVA_LINE_TERMINATORS}]")
        elif char == "$" and not depth:
            out.append(_JAVA_END)
            quantifier = _QUANTIFIER.match(pattern, i + 1)
            if quantifier and not quantifier.group().startswith(("*", "?", "{0")):
                i = quantifier.end()
                continue
        else:
            out.append(char)
        i += 1
    return "".join(out)


def _translate_escape(pattern: str, i: int, out: list[str]) -> int:
    letter = pattern[i + 1]
    if letter == "u":
        high = int(pattern[i + 2 : i + 6], 16)
        if 0xD800 <= high <= 0xDBFF and pattern.startswith("\\u", i + 6):
            low = int(pattern[i + 8 : i + 12], 16)
            if 0xDC00 <= low <= 0xDFFF:
                out.append(f"\\U{0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00):08X}")
                return i + 12
        out.append(f"\\u{high:04X}")
        return i + 6
    if letter in "pP" and pattern.startswith("{", i + 2):
        end = pattern.index("}", i)
        name = pattern[i + 3 : end]
        if name in _POSIX_CLASSES:
            body = _POSIX_CLASSES[name]
            out.append(("[" if letter == "p" else "[^") + body + "]")
        elif name.startswith(("java", "In", "Is", "Script=", "Block=")):
            raise UnsupportedPatternError(f"Java class \\{letter}{{{name}}} in {pattern!r} has no translation here")
        else:
            out.append(pattern[i : end + 1])
        return end + 1
    if letter.lower() in _SHORTHANDS:
        body = _SHORTHANDS[letter.lower()]
        out.append(("[" if letter.islower() else "[^") + body + "]")
        return i + 2
    if letter == "Q":
        end = pattern.find("\\E", i + 2)
        literal = pattern[i + 2 :] if end < 0 else pattern[i + 2 : end]
        out.append(regex.escape(literal))
        return len(pattern) if end < 0 else end + 2
    if letter == "z":
        out.append("\\Z")
        return i + 2
    if letter == "Z":
        out.append(_JAVA_END)
        return i + 2
    if letter in _UNSUPPORTED_ESCAPES:
        raise UnsupportedPatternError(f"Java escape \\{letter} in {pattern!r} has no translation here")
    out.append(pattern[i : i + 2])
    return i + 2


@cache
def java_pattern(pattern: str) -> regex.Pattern[str]:
    return regex.compile(translate_java_pattern(pattern), regex.V1)


def matches_java_pattern(pattern: str, value: str) -> bool:
    """Whether the whole value matches, as the services check it.

    botocore's patterns are not always anchored (``[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}``), yet
    SageMaker rejects a 90-character name against ``^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}`` and a
    name with ``_`` against ``^[a-zA-Z0-9](-*[a-zA-Z0-9])*`` (zenml-io/zenml#1502,
    aws/sagemaker-python-sdk#384), which only a whole-value match explains.
    """
    return java_pattern(pattern).fullmatch(value) is not None


# --- Request validation ------------------------------------------------------------------------------


class _Missing:
    def __repr__(self) -> str:
        return "(missing)"


MISSING = _Missing()


@dataclass(frozen=True)
class Finding:
    path: str
    """Where in the request (``Tags[2].Value``), or ``(request)`` for the whole of it."""
    value: Any
    problem: str
    """What is wrong and what AWS allows."""

    def describe(self) -> str:
        return f"{self.path} = {shorten(self.value)}: {self.problem}"


def shorten(value: Any, limit: int = 100) -> str:
    if value is MISSING:
        return "(missing)"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    if len(text) <= limit:
        return repr(text) if isinstance(value, str) else text
    shown = f"{text[: limit - 30]}…{text[-20:]}"
    return f"{shown!r} ({len(text)} characters)" if isinstance(value, str) else f"{shown} ({len(text)} characters)"


def utf8_size(value: Any) -> int:
    """Bytes of ``value`` as Step Functions counts payloads: compact JSON, UTF-8."""
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


def _join(path: str, member: str) -> str:
    return f"{path}.{member}" if path else member


def _pascal(name: str) -> str:
    return name[:1].upper() + name[1:]


def validate_shape(shape: Shape, value: Any, path: str = "", *, pascal_case: bool = False) -> list[Finding]:
    """Everything botocore's model says about ``value`` as an instance of ``shape``."""
    findings: list[Finding] = []
    _check(shape, value, path, findings, pascal_case)
    return findings


def _check(shape: Shape, value: Any, path: str, findings: list[Finding], pascal_case: bool) -> None:
    kind = shape.type_name
    what = f"{kind} {shape.name}"
    if value is None:
        findings.append(Finding(path, value, f"null is not a {what}"))
        return
    checker = _CHECKERS.get(kind)
    if checker is None:
        raise ContractError(f"{path}: no check for botocore type {kind} ({shape.name})")
    checker(shape, value, path, findings, pascal_case)


def _check_structure(shape: Shape, value: Any, path: str, findings: list[Finding], pascal_case: bool) -> None:
    assert isinstance(shape, StructureShape)
    if not isinstance(value, dict):
        findings.append(Finding(path, value, f"a structure {shape.name} (JSON object) is expected"))
        return
    names = {(_pascal(m) if pascal_case else m): m for m in shape.members}
    for key, item in value.items():
        member = names.get(key)
        if member is None:
            findings.append(Finding(_join(path, key), item, f"{shape.name} has no member {key}; it has {', '.join(sorted(names))}"))
        else:
            _check(shape.members[member], item, _join(path, key), findings, pascal_case)
    present = {names[key] for key in value if key in names}
    for member in shape.required_members:
        if member not in present:
            findings.append(Finding(_join(path, _pascal(member) if pascal_case else member), MISSING, f"required by {shape.name}"))
    if shape.metadata.get("union") and len(present) != 1:
        findings.append(Finding(path, value, f"{shape.name} is a union: exactly one member, not {len(present)}"))


def _check_length(shape: Shape, value: Any, length: int, unit: str, path: str, findings: list[Finding]) -> None:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and length < low:
        findings.append(Finding(path, value, f"{length} {unit}, fewer than {shape.name}'s min {low}"))
    if high is not None and length > high:
        findings.append(Finding(path, value, f"{length} {unit}, more than {shape.name}'s max {high}"))


def _check_list(shape: Shape, value: Any, path: str, findings: list[Finding], pascal_case: bool) -> None:
    if not isinstance(value, list):
        findings.append(Finding(path, value, f"a list {shape.name} (JSON array) is expected"))
        return
    _check_length(shape, value, len(value), "items", path, findings)
    for index, item in enumerate(value):
        _check(shape.member, item, f"{path}[{index}]", findings, pascal_case)  # type: ignore[attr-defined]


def _check_map(shape: Shape, value: Any, path: str, findings: list[Finding], pascal_case: bool) -> None:
    if not isinstance(value, dict):
        findings.append(Finding(path, value, f"a map {shape.name} (JSON object) is expected"))
        return
    _check_length(shape, value, len(value), "entries", path, findings)
    for key, item in value.items():
        for finding in validate_shape(shape.key, key, f"{path}{{key {key!r}}}"):  # type: ignore[attr-defined]
            findings.append(finding)
        _check(shape.value, item, f"{path}[{key!r}]", findings, pascal_case)  # type: ignore[attr-defined]


def _check_string(shape: Shape, value: Any, path: str, findings: list[Finding], pascal_case: bool) -> None:
    if not isinstance(value, str):
        findings.append(Finding(path, value, f"a string ({shape.name}) is expected, not {type(value).__name__}"))
        return
    if shape.enum and value not in shape.enum:
        findings.append(Finding(path, value, f"not one of {shape.name}'s values: {', '.join(shape.enum)}"))
    _check_length(shape, value, len(value), "characters", path, findings)
    pattern = shape.metadata.get("pattern")
    if pattern is not None and not matches_java_pattern(pattern, value):
        findings.append(Finding(path, value, f"does not match {shape.name}'s pattern {pattern} (whole value)"))


def _check_number(shape: Shape, value: Any, path: str, findings: list[Finding], pascal_case: bool) -> None:
    integral = shape.type_name in ("integer", "long")
    allowed: tuple[type, ...] = (int,) if integral else (int, float)
    if isinstance(value, bool) or not isinstance(value, allowed):
        findings.append(Finding(path, value, f"{'an integer' if integral else 'a number'} ({shape.name}) is expected"))
        return
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and value < low:
        findings.append(Finding(path, value, f"less than {shape.name}'s min {low}"))
    if high is not None and value > high:
        findings.append(Finding(path, value, f"more than {shape.name}'s max {high}"))


def _check_boolean(shape: Shape, value: Any, path: str, findings: list[Finding], pascal_case: bool) -> None:
    if not isinstance(value, bool):
        findings.append(Finding(path, value, f"a boolean ({shape.name}) is expected"))


def _check_timestamp(shape: Shape, value: Any, path: str, findings: list[Finding], pascal_case: bool) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        findings.append(Finding(path, value, f"a timestamp ({shape.name}: ISO 8601 text or epoch seconds) is expected"))
    elif isinstance(value, str):
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            findings.append(Finding(path, value, f"not an ISO 8601 timestamp ({shape.name})"))


def _check_blob(shape: Shape, value: Any, path: str, findings: list[Finding], pascal_case: bool) -> None:
    # Step Functions passes a blob member (S3 PutObject's Body) as text and sends its UTF-8 bytes.
    if not isinstance(value, str):
        findings.append(Finding(path, value, f"text for the blob {shape.name} is expected"))
        return
    _check_length(shape, value, len(value.encode()), "bytes", path, findings)


def _check_document(shape: Shape, value: Any, path: str, findings: list[Finding], pascal_case: bool) -> None:
    return


_CHECKERS: dict[str, Callable[[Shape, Any, str, list[Finding], bool], None]] = {
    "structure": _check_structure,
    "list": _check_list,
    "map": _check_map,
    "string": _check_string,
    "integer": _check_number,
    "long": _check_number,
    "float": _check_number,
    "double": _check_number,
    "boolean": _check_boolean,
    "timestamp": _check_timestamp,
    "blob": _check_blob,
    "document": _check_document,
}


def _lookup(request: Mapping[str, Any], dotted: str) -> Any:
    value: Any = request
    for part in dotted.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return MISSING
        value = value[part]
    return value


def rule_findings(integration: Integration, request: Mapping[str, Any]) -> list[Finding]:
    """The cross-member rules of ``aws_facts.requests`` that this request breaks."""
    findings: list[Finding] = []
    for rule in facts.REQUEST_RULES:
        if (rule.service, rule.operation) != (integration.service, integration.operation):
            continue
        source = rule.source.sentence if isinstance(rule.source, facts.BotocoreDocumentation) else rule.source.says
        if isinstance(rule, facts.MutuallyExclusive):
            present = [m for m in rule.members if _lookup(request, m) is not MISSING]
            if len(present) > 1:
                findings.append(Finding(" and ".join(present), {m: _lookup(request, m) for m in present}, f"not together: {source}"))
        elif isinstance(rule, facts.OneOfRequired):
            if all(_lookup(request, m) is MISSING for m in rule.members):
                findings.append(Finding(" / ".join(rule.members), MISSING, f"one is required: {source}"))
        elif isinstance(rule, facts.MaxUtf8Bytes):
            value = _lookup(request, rule.member)
            if isinstance(value, str) and len(value.encode()) > rule.limit:
                findings.append(Finding(rule.member, value, f"{len(value.encode())} bytes, more than {rule.limit}: {source}"))
        elif isinstance(rule, facts.SingleLineText):
            value = _lookup(request, rule.member)
            if isinstance(value, str) and (len(value) >= rule.shorter_than or any(ord(c) < 32 or 127 <= ord(c) < 160 for c in value)):
                findings.append(Finding(rule.member, value, f"{len(value)} characters: {source}"))
        elif isinstance(rule, facts.NotLessThan):
            value, other = _lookup(request, rule.member), _lookup(request, rule.other)
            if isinstance(value, int | float) and isinstance(other, int | float) and value < other:
                findings.append(Finding(rule.member, value, f"less than {rule.other} ({other}): {source}"))
        elif isinstance(rule, facts.ProductAtMost):
            values = [_lookup(request, m) for m in rule.members]
            if all(isinstance(v, int | float) for v in values):
                product = 1
                for v in values:
                    product *= v
                if product > rule.limit:
                    findings.append(Finding(" * ".join(rule.members), product, f"more than {rule.limit}: {source}"))
    return findings


def _botocore_names(shape: Shape, value: Any, pascal_case: bool) -> Any:
    """The request with botocore's member names, for ParamValidator."""
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        names = {(_pascal(m) if pascal_case else m): m for m in shape.members}
        return {names.get(k, k): (_botocore_names(shape.members[names[k]], v, pascal_case) if k in names else v) for k, v in value.items()}
    if shape.type_name == "list" and isinstance(value, list):
        return [_botocore_names(shape.member, v, pascal_case) for v in value]  # type: ignore[attr-defined]
    if shape.type_name == "map" and isinstance(value, dict):
        return {k: _botocore_names(shape.value, v, pascal_case) for k, v in value.items()}  # type: ignore[attr-defined]
    return value


def validate_request(integration: Integration, request: Any) -> list[Finding]:
    """Everything wrong with ``request`` (evaluated Arguments) for this integration."""
    findings = validate_shape(integration.input_shape, request, pascal_case=integration.pascal_case_members)
    if isinstance(request, dict):
        findings += rule_findings(integration, request)
    size = utf8_size(request)
    if size > facts.PAYLOAD_LIMIT_BYTES:
        findings.append(
            Finding("(request)", f"{size} bytes", f"more than Step Functions' {facts.PAYLOAD_LIMIT_BYTES} bytes per task input")
        )
    if not findings:
        # A second opinion: anything botocore itself would refuse that the checks above missed.
        report = ParamValidator().validate(
            _botocore_names(integration.input_shape, request, integration.pascal_case_members), integration.input_shape
        )
        if report.has_errors():
            findings.append(Finding("(request)", "", f"botocore's ParamValidator: {report.generate_report()}"))
    return findings


# --- CloudFormation placeholders ------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"<(import:[^<>]+|[A-Za-z][A-Za-z0-9]*(?:\.[A-Za-z0-9.]+)?)>")
_RANDOM_SUFFIX = "A1B2C3D4E5F6G"


def _generated_name(stack: str, logical_id: str, max_length: int) -> str:
    """A CloudFormation-generated physical name (stack-logicalid-RANDOM), as long as it gets."""
    return f"{stack}-{logical_id}"[: max_length - len(_RANDOM_SUFFIX) - 1] + "-" + _RANDOM_SUFFIX


@dataclass(frozen=True)
class Environment:
    """One environment's synthesized templates, to give CloudFormation references real values."""

    name: str
    account: str
    region: str
    templates: Mapping[str, Mapping[str, Any]]
    """Stack name → template."""

    def stack_name(self, stack: str) -> str:
        return f"{self.name}-{stack}"

    def resolve(self, stack: str, token: str) -> str | None:
        """A realistic value for the placeholder ``<token>`` in ``stack``, or None when it is not a reference."""
        if token.startswith("import:"):
            export = token.removeprefix("import:")
            for other, template in self.templates.items():
                for output in template.get("Outputs", {}).values():
                    if output.get("Export", {}).get("Name") == export:
                        return self._value_of(other, output["Value"])
            raise ContractError(f"{stack}: no stack of {self.name} exports {export}")
        logical_id, _, attribute = token.partition(".")
        if logical_id not in self.templates[stack].get("Resources", {}):
            return None
        return self._realistic(stack, logical_id, attribute or None)

    def _value_of(self, stack: str, value: Any) -> str:
        if isinstance(value, dict) and "Fn::GetAtt" in value:
            logical_id, attribute = value["Fn::GetAtt"]
            return self._realistic(stack, logical_id, attribute)
        if isinstance(value, dict) and "Ref" in value:
            return self._realistic(stack, value["Ref"], None)
        if isinstance(value, str):
            return value
        raise ContractError(f"{stack}: cannot give the export value {value} a realistic value")

    def _realistic(self, stack: str, logical_id: str, attribute: str | None) -> str:
        resource = self.templates[stack]["Resources"][logical_id]
        kind, props = resource["Type"], resource.get("Properties", {})
        account, region = self.account, self.region

        def name(prop: str, max_length: int) -> str:
            given = props.get(prop)
            return given if isinstance(given, str) else _generated_name(self.stack_name(stack), logical_id, max_length)

        key_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.name}/{stack}/{logical_id}"))
        values: dict[tuple[str, str | None], Callable[[], str]] = {
            ("AWS::IAM::Role", "Arn"): lambda: f"arn:aws:iam::{account}:role{props.get('Path', '/')}{name('RoleName', 64)}",
            ("AWS::IAM::Role", None): lambda: name("RoleName", 64),
            ("AWS::KMS::Key", "Arn"): lambda: f"arn:aws:kms:{region}:{account}:key/{key_id}",
            ("AWS::KMS::Key", None): lambda: key_id,
            ("AWS::SNS::Topic", None): lambda: f"arn:aws:sns:{region}:{account}:{name('TopicName', 256)}",
            ("AWS::SNS::Topic", "TopicArn"): lambda: f"arn:aws:sns:{region}:{account}:{name('TopicName', 256)}",
            ("AWS::SNS::Topic", "TopicName"): lambda: name("TopicName", 256),
            ("AWS::SageMaker::Model", "ModelName"): lambda: name("ModelName", 63),
            ("AWS::SageMaker::Model", None): lambda: f"arn:aws:sagemaker:{region}:{account}:model/{name('ModelName', 63).lower()}",
            ("AWS::SageMaker::ModelPackageGroup", "ModelPackageGroupArn"): lambda: (
                f"arn:aws:sagemaker:{region}:{account}:model-package-group/{name('ModelPackageGroupName', 63).lower()}"
            ),
            ("AWS::S3::Bucket", None): lambda: name("BucketName", 63).lower(),
            ("AWS::S3::Bucket", "Arn"): lambda: f"arn:aws:s3:::{name('BucketName', 63).lower()}",
            ("AWS::Logs::LogGroup", None): lambda: name("LogGroupName", 512),
            ("AWS::Logs::LogGroup", "Arn"): lambda: f"arn:aws:logs:{region}:{account}:log-group:{name('LogGroupName', 512)}:*",
            ("AWS::StepFunctions::StateMachine", None): lambda: (
                f"arn:aws:states:{region}:{account}:stateMachine:{name('StateMachineName', 80)}"
            ),
        }
        make = values.get((kind, attribute))
        if make is None:
            reference = f"{logical_id}.{attribute}" if attribute else logical_id
            raise ContractError(
                f"{stack}: no realistic value for <{reference}> ({kind}); add one to botocore_contracts.Environment._realistic"
            )
        return make()

    def substitute(self, stack: str, node: Any) -> Any:
        """``node`` with every placeholder that is a reference replaced by its realistic value."""
        if isinstance(node, str):
            return _PLACEHOLDER.sub(lambda m: self.resolve(stack, m.group(1)) or m.group(0), node)
        if isinstance(node, list):
            return [self.substitute(stack, item) for item in node]
        if isinstance(node, dict):
            return {key: self.substitute(stack, value) for key, value in node.items()}
        return node


# --- State machines ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Machine:
    environment: str
    stack: str
    logical_id: str
    definition: Mapping[str, Any]
    """The ASL document with realistic values for CloudFormation references."""
    arn: str
    role_arn: str

    @property
    def name(self) -> str:
        return self.arn.rsplit(":", 1)[1]

    @property
    def states(self) -> Mapping[str, Mapping[str, Any]]:
        return self.definition["States"]

    def tasks(self) -> Iterator[tuple[str, Mapping[str, Any]]]:
        for name, state in self.states.items():
            if state["Type"] == "Task":
                yield name, state

    @property
    def failure_handlers(self) -> set[str]:
        """States a Catch leads to: reaching one means the run is failing."""
        return {catcher["Next"] for state in self.states.values() for catcher in state.get("Catch", [])}

    def __str__(self) -> str:
        return f"{self.environment}/{self.stack}/{self.logical_id}"


def state_machines(environment: Environment) -> list[Machine]:
    """Every state machine of the environment, definitions ready to simulate."""
    machines = []
    for stack, template in environment.templates.items():
        for logical_id, resource in template.get("Resources", {}).items():
            if resource["Type"] != "AWS::StepFunctions::StateMachine":
                continue
            definition = environment.substitute(stack, definition_of(resource))
            role = resource["Properties"].get("RoleArn", {})
            role_arn = environment._value_of(stack, role) if isinstance(role, dict) else str(role)
            arn = environment._realistic(stack, logical_id, None)
            machines.append(Machine(environment.name, stack, logical_id, definition, arn, role_arn))
    return machines


# --- JSONata -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class JsonataError:
    message: str


def is_template(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("{%") and value.endswith("%}")


def evaluate_expressions(items: Sequence[tuple[str, Mapping[str, Any]]]) -> list[Any]:
    """Each ``(template, variables)`` evaluated by the real jsonata package, in one batch.

    Returns the value, :data:`Undefined`, or a :class:`JsonataError` for each; identical items
    are evaluated once.
    """
    if not items:
        return []
    keys = [(template, json.dumps(variables, sort_keys=True)) for template, variables in items]
    unique = list(dict.fromkeys(keys))
    payload = "[" + ",".join(f'{{"expression":{json.dumps(t[2:-2].strip())},"bindings":{b}}}' for t, b in unique) + "]"
    stdout = node_request(payload)  # json.dumps escapes newlines: one line per batch
    outcomes = {}
    for key, outcome in zip(unique, json.loads(stdout), strict=True):
        if "error" in outcome:
            outcomes[key] = JsonataError(outcome["error"])
        else:
            outcomes[key] = Undefined if outcome.get("undefined") else outcome["value"]
    return [outcomes[key] for key in keys]


def _templates(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if is_template(node):
        yield path, node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _templates(value, _join(path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _templates(value, f"{path}[{index}]")


def _fill(node: Any, values: Mapping[str, Any], path: str = "") -> Any:
    """``node`` with templates replaced by their values; an undefined value drops its member."""
    if is_template(node):
        return values[path]
    if isinstance(node, dict):
        filled = {key: _fill(value, values, _join(path, key)) for key, value in node.items()}
        return {key: value for key, value in filled.items() if value is not Undefined}
    if isinstance(node, list):
        return [v for v in (_fill(value, values, f"{path}[{index}]") for index, value in enumerate(node)) if v is not Undefined]
    return node


_VARIABLE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


def _bindings(template: str, variables: Mapping[str, Any], states: Mapping[str, Any]) -> dict[str, Any]:
    """Only what the expression names: a run's large variables stay out of the others' payloads."""
    names = set(_VARIABLE.findall(template))
    bindings = {name: variables[name] for name in names if name in variables}
    if "states" in names:
        bindings["states"] = states
    return bindings


# --- Simulation ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Succeeded:
    """A task's result."""

    result: Any


@dataclass(frozen=True)
class Failed:
    """A task's error, as Step Functions reports it to a Catch."""

    error: str
    cause: str


@dataclass(frozen=True)
class TaskCall:
    """The request one run sent from one Task state."""

    state: str
    integration: Integration
    request: Any


@dataclass(frozen=True)
class Problem:
    """Something a run hit that is not a request field: JSONata errors, payload limits, dead ends."""

    state: str
    finding: Finding


@dataclass
class Run:
    machine: Machine
    case: Any
    """The scenario, opaque here: the responder reads it."""
    execution_name: str
    execution_input: Any
    variables: dict[str, Any] = field(default_factory=dict)
    path: list[str] = field(default_factory=list)
    calls: list[TaskCall] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    outcome: str = "running"
    stop_at_first_task: bool = False

    @property
    def execution_arn(self) -> str:
        return self.machine.arn.replace(":stateMachine:", ":execution:") + ":" + self.execution_name

    def context(self, state: str) -> dict[str, Any]:
        return {
            "Execution": {
                "Id": self.execution_arn,
                "Input": self.execution_input,
                "Name": self.execution_name,
                "RoleArn": self.machine.role_arn,
                "StartTime": "2026-11-01T02:00:00.000Z",
                "RedriveCount": 0,
            },
            "State": {"EnteredTime": "2026-11-01T02:00:01.000Z", "Name": state, "RetryCount": 0},
            "StateMachine": {"Id": self.machine.arn, "Name": self.machine.name},
        }


Responder = Callable[[Run, str, Integration, Any], Succeeded | Failed]
_Step = Generator[list[tuple[str, Mapping[str, Any]]], list[Any], Any]
_MAX_TRANSITIONS = 200


def _evaluate(run: Run, state: str, parts: Mapping[str, Any], states: Mapping[str, Any]) -> _Step:
    """Yield the templates in ``parts`` for evaluation; return ``parts`` filled in."""
    templates = list(_templates(parts))
    values = yield [(template, _bindings(template, run.variables, states)) for _, template in templates]
    filled = {}
    for (path, template), value in zip(templates, values, strict=True):
        if isinstance(value, JsonataError):
            run.problems.append(Problem(state, Finding(path, template, f"JSONata error (States.QueryEvaluationError): {value.message}")))
            value = Undefined
        filled[path] = value
    return _fill(dict(parts), filled)


def _matches(error: str, names: Iterable[str]) -> bool:
    for name in names:
        if name == error:
            return True
        if name == "States.ALL" and error not in ("States.DataLimitExceeded", "States.Runtime"):
            return True
        if name == "States.TaskFailed" and not error.startswith("States."):
            return True
    return False


def _check_payload(run: Run, state: str, what: str, value: Any) -> None:
    if value is Undefined:
        return
    size = utf8_size(value)
    if size > facts.PAYLOAD_LIMIT_BYTES:
        run.problems.append(
            Problem(
                state,
                Finding(
                    f"({what})",
                    f"{size} bytes",
                    f"more than {facts.PAYLOAD_LIMIT_BYTES} bytes: States.DataLimitExceeded, not caught by States.ALL",
                ),
            )
        )


def _execute(run: Run, respond: Responder) -> _Step:
    """One run of the state machine, as a coroutine that yields templates to evaluate."""
    states = run.machine.states
    name: str | None = run.machine.definition["StartAt"]
    state_input = run.execution_input
    for _ in range(_MAX_TRANSITIONS):
        if name is None:
            run.outcome = "succeeded"
            return
        state = states[name]
        run.path.append(name)
        kind = state["Type"]
        context = run.context(name)
        base = {"input": state_input, "context": context}
        if kind == "Task" and run.stop_at_first_task:
            run.outcome = "at task"
            return
        if kind == "Pass":
            parts = yield from _evaluate(run, name, {"Assign": state.get("Assign", {}), "Output": state.get("Output", Undefined)}, base)
            run.variables.update(parts["Assign"])
            state_input = parts.get("Output", state_input)
        elif kind == "Choice":
            # Keyed by position: an undefined condition must not shift the others.
            conditions = {str(index): rule["Condition"] for index, rule in enumerate(state["Choices"])}
            parts = yield from _evaluate(
                run, name, {"Conditions": conditions, "Assign": state.get("Assign", {}), "Output": state.get("Output", Undefined)}, base
            )
            chosen = None
            for index, rule in enumerate(state["Choices"]):
                outcome = parts["Conditions"].get(str(index), Undefined)
                if not isinstance(outcome, bool):
                    run.problems.append(
                        Problem(name, Finding(f"Choices[{index}].Condition", outcome, "a Condition must evaluate to true or false"))
                    )
                    continue
                if outcome:
                    chosen = rule
                    break
            if any(key in (chosen or {}) for key in ("Assign", "Output")):
                raise ContractError(f"{run.machine} {name}: Assign or Output on a Choice rule is not simulated")
            run.variables.update(parts["Assign"])
            state_input = parts.get("Output", state_input)
            name = chosen["Next"] if chosen else state.get("Default")
            if name is None:
                run.problems.append(
                    Problem(run.path[-1], Finding("Default", MISSING, "no rule matched and no Default: States.NoChoiceMatched"))
                )
                run.outcome = "failed"
                return
            continue
        elif kind == "Task":
            integration = integration_of(state["Resource"])
            arguments = yield from _evaluate(run, name, {"Arguments": state.get("Arguments", {})}, base)
            request = arguments.get("Arguments", {})
            run.calls.append(TaskCall(name, integration, request))
            response = respond(run, name, integration, request)
            if isinstance(response, Succeeded):
                _check_payload(run, name, "result", response.result)
                after = {**base, "result": response.result}
                parts = yield from _evaluate(
                    run, name, {"Assign": state.get("Assign", {}), "Output": state.get("Output", Undefined)}, after
                )
                run.variables.update(parts["Assign"])
                state_input = parts.get("Output", response.result)
            else:
                error_output = {"Error": response.error, "Cause": response.cause}
                catcher = next((c for c in state.get("Catch", []) if _matches(response.error, c["ErrorEquals"])), None)
                if catcher is None:
                    run.outcome = "failed"
                    return
                after = {**base, "errorOutput": error_output}
                parts = yield from _evaluate(
                    run, name, {"Assign": catcher.get("Assign", {}), "Output": catcher.get("Output", Undefined)}, after
                )
                run.variables.update(parts["Assign"])
                state_input = parts.get("Output", error_output)
                name = catcher["Next"]
                continue
        elif kind in ("Succeed", "Fail"):
            if kind == "Fail":
                yield from _evaluate(run, name, {"Error": state.get("Error", ""), "Cause": state.get("Cause", "")}, base)
            run.outcome = "succeeded" if kind == "Succeed" else "failed"
            return
        elif kind == "Wait":
            pass
        else:
            raise ContractError(f"{run.machine} {name}: {kind} states are not simulated")
        _check_payload(run, name, "output", state_input)
        name = None if state.get("End") else state.get("Next")
    raise ContractError(f"{run.machine}: more than {_MAX_TRANSITIONS} transitions in case {run.case}")


def simulate(runs: Sequence[Run], respond: Responder) -> None:
    """Run every run to its end, evaluating all pending templates of all runs in one batch per round."""
    steps = {id(run): _execute(run, respond) for run in runs}
    pending: dict[int, tuple[Run, list[tuple[str, Mapping[str, Any]]]]] = {}

    def advance(run: Run, values: list[Any] | None) -> None:
        step = steps[id(run)]
        try:
            items = step.send(values) if values is not None else next(step)
            while not items:
                items = step.send([])
        except StopIteration:
            pending.pop(id(run), None)
            return
        pending[id(run)] = (run, items)

    for run in runs:
        advance(run, None)
    while pending:
        batch = list(pending.values())
        values = evaluate_expressions([item for _, items in batch for item in items])
        offset = 0
        for run, items in batch:
            chunk, offset = values[offset : offset + len(items)], offset + len(items)
            advance(run, chunk)
