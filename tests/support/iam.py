"""Reading IAM out of a synthesized template, the way a reviewer reads it."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import SynthesizedStack


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def role_of(stack: SynthesizedStack, logical_prefix: str) -> tuple[str, dict[str, Any]]:
    (found,) = [(k, v) for k, v in stack.resources("AWS::IAM::Role").items() if k.startswith(logical_prefix)]
    return found


def statements_of(stack: SynthesizedStack, role_id: str) -> list[dict[str, Any]]:
    return [
        statement
        for policy in stack.resources("AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def grants(stack: SynthesizedStack, role_id: str, service: str = "") -> set[tuple[str, str]]:
    """(action, resource) pairs of a role, for one service or all; CDK merges statements, this undoes it."""
    return {
        (action, resource if isinstance(resource, str) else json.dumps(resource))
        for statement in statements_of(stack, role_id)
        for action in as_list(statement["Action"])
        if action.startswith(f"{service}:" if service else "")
        for resource in as_list(statement["Resource"])
    }
