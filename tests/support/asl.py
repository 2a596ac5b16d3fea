"""Test helpers for state machines: the definition from a template, ASL validation, JSONata."""

from __future__ import annotations

import atexit
import functools
import json
import select
import subprocess
from pathlib import Path
from typing import IO, Any

PROJECT_DIR = Path(__file__).resolve().parents[2]


def definition_of(state_machine: dict[str, Any]) -> dict[str, Any]:
    """The ASL document, with CloudFormation references replaced by readable placeholders."""
    return rendered_json(state_machine["Properties"]["DefinitionString"])


def rendered_json(body: str | dict[str, Any]) -> Any:
    """A JSON document that CloudFormation assembles with Fn::Join, references as placeholders."""
    parts = body["Fn::Join"][1] if isinstance(body, dict) else [body]
    return json.loads("".join(part if isinstance(part, str) else _placeholder(part) for part in parts))


def _placeholder(reference: dict[str, Any]) -> str:
    (function, argument), *_ = reference.items()
    if function == "Fn::GetAtt":
        return f"<{argument[0]}.{argument[1]}>"
    if function == "Fn::ImportValue":
        return f"<import:{argument}>"
    if function == "Ref":
        return f"<{argument}>"
    raise AssertionError(f"no placeholder for {function} in a definition")


def validate(definition: dict[str, Any]) -> list[str]:
    """asl-validator's findings (empty when the document is valid ASL, JSONata syntax included)."""
    errors = json.loads(node_request(json.dumps({"validate": definition})))["errors"]
    return [] if errors is None else [errors]


def expression(template: str) -> str:
    assert template.startswith("{% "), template
    assert template.endswith(" %}"), template
    return template[3:-3]


@functools.cache
def _node_helper() -> subprocess.Popen[str]:
    """One Node process with the npm jsonata engine and asl-validator per test process, fed a
    request per line: starting Node and loading jsonata costs more than most batches (the
    contract simulation sends one per round), and asl-validator's CLI took 0.4 s a run."""
    process = subprocess.Popen(
        ["node", str(Path(__file__).with_name("evaluate_jsonata.mjs"))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=PROJECT_DIR,
    )
    atexit.register(process.kill)
    return process


def node_request(line: str, timeout: float = 60) -> str:
    """Send one request line (evaluate_jsonata.mjs says which) and read the answer line, or fail
    with the helper's stderr."""
    process = _node_helper()
    stdin, stdout = process.stdin, process.stdout
    assert stdin is not None
    assert stdout is not None
    try:
        stdin.write(line + "\n")
        stdin.flush()
        # Each request gets exactly one line back, so nothing waits in Python's buffer: the pipe
        # itself says whether an answer has started.
        ready, _, _ = select.select([stdout], [], [], timeout)
        answer = stdout.readline() if ready else ""
    except BrokenPipeError:
        answer = ""
    if not answer:
        _node_helper.cache_clear()  # the next request gets a new process
        process.kill()
        errors: IO[str] | None = process.stderr
        detail = errors.read() if errors else ""
        raise AssertionError(f"the JSONata and ASL helper (evaluate_jsonata.mjs) gave no answer within {timeout:g} s: {detail}")
    return answer


def evaluate(cases: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    """Evaluate ``{% ... %}`` templates with the given variables (``states`` for ``$states``).

    Returns each value; an undefined result is ``Undefined``; a JSONata error raises.
    """
    payload = [{"expression": expression(template), "bindings": bindings} for template, bindings in cases]
    values = []
    for template, outcome in zip(cases, json.loads(node_request(json.dumps(payload))), strict=True):
        if "error" in outcome:
            raise AssertionError(f"JSONata error in {template[0]!r}: {outcome['error']}")
        values.append(Undefined if outcome.get("undefined") else outcome["value"])
    return values


class _Undefined:
    def __repr__(self) -> str:
        return "Undefined"


Undefined = _Undefined()
