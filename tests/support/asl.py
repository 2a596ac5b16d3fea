"""Test helpers for state machines: the definition from a template, ASL validation, JSONata."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parents[2]
NODE_MODULES = PROJECT_DIR / "node_modules"


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
    result = subprocess.run(
        [str(NODE_MODULES / ".bin" / "asl-validator"), "--json-definition", json.dumps(definition), "--silent"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return [] if result.returncode == 0 else [result.stdout + result.stderr]


def expression(template: str) -> str:
    assert template.startswith("{% "), template
    assert template.endswith(" %}"), template
    return template[3:-3]


def evaluate(cases: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    """Evaluate ``{% ... %}`` templates with the given variables (``states`` for ``$states``).

    Returns each value; an undefined result is ``Undefined``; a JSONata error raises.
    """
    payload = [{"expression": expression(template), "bindings": bindings} for template, bindings in cases]
    result = subprocess.run(
        ["node", str(Path(__file__).with_name("evaluate_jsonata.mjs"))],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=PROJECT_DIR,
    )
    values = []
    for template, outcome in zip(cases, json.loads(result.stdout), strict=True):
        if "error" in outcome:
            raise AssertionError(f"JSONata error in {template[0]!r}: {outcome['error']}")
        values.append(Undefined if outcome.get("undefined") else outcome["value"])
    return values


class _Undefined:
    def __repr__(self) -> str:
        return "Undefined"


Undefined = _Undefined()
