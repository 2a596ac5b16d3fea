"""checkov suppressions that travel with the resource they are about, each with its reason.

Security teams run checkov on the synthesized CloudFormation templates. A finding that is a
deliberate choice (a bucket that must not log to itself, data that is re-creatable and needs no
version history) is recorded on that resource as ``Metadata.checkov.skip``, the form checkov's
CloudFormation runner reads (https://www.checkov.io/2.Basics/Suppressing%20and%20Skipping%20Policies.html):

    "Metadata": {"checkov": {"skip": [{"id": "CKV_AWS_18", "comment": "..."}]}}

so a reviewer reads the reason next to the resource and in checkov's own report, and every other
finding stays a failure (tests/test_checkov.py).
"""

from __future__ import annotations

import re
from typing import Any

from aws_cdk import CfnResource

from constructs import IConstruct

CHECK_ID = re.compile(r"CKV2?_AWS_\d+")
MIN_REASON_LENGTH = 30
"""A reason is a sentence a reviewer would accept, not a word: at least this many characters."""


def skip_checkov(resource: IConstruct, check_id: str, reason: str) -> None:
    """Record that ``check_id`` does not apply to ``resource`` (an L1, or an L2 with a default child), and why."""
    if not CHECK_ID.fullmatch(check_id):
        raise ValueError(f"skip_checkov: check_id {check_id!r} is not a checkov AWS check id (CKV_AWS_<n> or CKV2_AWS_<n>)")
    reason = " ".join(reason.split())
    if len(reason) < MIN_REASON_LENGTH or not reason.endswith("."):
        raise ValueError(
            f"skip_checkov: the reason for {check_id} must be a sentence of at least {MIN_REASON_LENGTH} characters "
            f"ending with '.', got {reason!r}"
        )
    cfn = _cfn_resource(resource)
    metadata: dict[str, Any] = cfn.get_metadata("checkov") or {}
    skips = [s for s in metadata.get("skip", []) if s["id"] != check_id]
    cfn.add_metadata("checkov", {**metadata, "skip": [*skips, {"id": check_id, "comment": reason}]})


def _cfn_resource(resource: IConstruct) -> CfnResource:
    cfn = resource if isinstance(resource, CfnResource) else resource.node.default_child
    if not isinstance(cfn, CfnResource):
        raise TypeError(f"skip_checkov: {resource.node.path} is neither a CloudFormation resource nor has one as its default child")
    return cfn
