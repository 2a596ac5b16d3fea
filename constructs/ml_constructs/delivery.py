"""Acknowledgments for what CDK Pipelines generates, each with the reason it is acceptable.

CDK Pipelines writes its own IAM policies (artifact bucket and key grants, CodeBuild logs and
reports, bootstrap-role assumption). Their wildcards are CDK's, scoped by CDK to the pipeline's
own resources. Only known patterns are acknowledged: anything else stays a finding and fails
synth, so a new permission is always reviewed.
"""

from __future__ import annotations

import json
import re
from typing import Any

from aws_cdk import Acknowledgment, Stack, Validations, pipelines
from aws_cdk import aws_iam as iam

from constructs import IConstruct
from ml_constructs.checkov import skip_checkov

_ACTION_REASONS = {
    action: "CDK Pipelines' grant on its own artifact bucket and KMS key (read, write, clean up, re-encrypt between stages)."
    for action in ("s3:Abort*", "s3:DeleteObject*", "s3:GetBucket*", "s3:GetObject*", "s3:List*", "kms:GenerateDataKey*", "kms:ReEncrypt*")
}
_RESOURCE_REASONS = (
    (re.compile(r"<[A-Za-z0-9]+ArtifactsBucket[A-Za-z0-9]+\.Arn>/\*"), "Objects of the pipeline's own artifact bucket."),
    (
        re.compile(r"arn:[a-z-]+:logs:[a-z0-9-]+:\d{12}:log-group:/aws/codebuild/.+"),
        "Log streams of the pipeline's own CodeBuild projects.",
    ),
    (re.compile(r"arn:[a-z-]+:codebuild:[a-z0-9-]+:\d{12}:report-group/.+"), "Test reports of the pipeline's own CodeBuild projects."),
    (
        re.compile(r"arn:\*:iam::\d{12}:role/\*"),
        "Self-mutation assumes the CDK bootstrap roles only (condition on their aws-cdk:bootstrap-role tag).",
    ),
)
_ARTIFACTS_UNLOGGED = (
    "CDK Pipelines' artifact bucket holds transient stage artifacts that only this pipeline's own roles read and write; "
    "the delivery account keeps no access-log bucket for it."
)
_ANY_RESOURCE_ACTIONS = {
    "cloudformation:DescribeStacks": "Self-mutation reads the state of the stacks it deploys, whose names it learns at run time.",
    "s3:ListBucket": "Self-mutation lists asset buckets of bootstrapped environments, named at run time.",
    "codebuild:BatchGetBuilds": "Asset publishing follows its own builds; CodeBuild build ids are not known in advance.",
    "codebuild:StartBuild": "Asset publishing starts its own builds.",
    "codebuild:StopBuild": "Asset publishing stops its own builds.",
}

_UNSCOPED_WRITES = {"codebuild:StartBuild", "codebuild:StopBuild"}
"""The write actions among those, which checkov reports (CKV_AWS_111) when their resource is ``*``."""


def flatten(value: Any) -> str:
    """A resource the way cdk-nag writes it in a finding id (``<Logical.Arn>`` for references)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Ref" in value:
        return f"<{value['Ref']}>"
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return f"<{'.'.join(value['Fn::GetAtt'])}>"
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(flatten(p) for p in parts)
    return json.dumps(value, separators=(",", ":"))


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def acknowledge_cdk_pipeline_findings(pipeline: pipelines.CodePipeline) -> None:
    pipeline.build_pipeline()
    stack = Stack.of(pipeline)
    for construct in pipeline.node.find_all():
        if isinstance(construct, iam.CfnPolicy):
            _acknowledge_policy(construct, stack.resolve(construct.policy_document))
    # The artifact bucket holds transient stage inputs; CDK Pipelines creates it without an
    # access-log target, and every reader and writer of it is this pipeline's own roles.
    bucket = pipeline.pipeline.artifact_bucket
    Validations.of(bucket).acknowledge(Acknowledgment(id="AwsSolutions::AwsSolutions-S1", reason=_ARTIFACTS_UNLOGGED))
    skip_checkov(bucket, "CKV_AWS_18", _ARTIFACTS_UNLOGGED)
    skip_checkov(
        bucket,
        "CKV_AWS_21",
        "Each pipeline execution writes its stage artifacts under new keys and never overwrites one; the Git "
        "repository is the history, so versioning this bucket would only keep stale artifacts.",
    )


def _acknowledge_policy(policy: IConstruct, document: dict[str, Any]) -> None:
    for statement in document.get("Statement", []):
        actions = [str(a) for a in _as_list(statement.get("Action", []))]
        for action in actions:
            if action in _ACTION_REASONS:
                _acknowledge(policy, f"Action::{action}", _ACTION_REASONS[action])
        for resource in map(flatten, _as_list(statement.get("Resource", []))):
            if resource == "*":
                reasons = [_ANY_RESOURCE_ACTIONS.get(action) for action in actions]
                if all(reasons):
                    reason = " ".join(dict.fromkeys(str(r) for r in reasons))
                    _acknowledge(policy, "Resource::*", reason)
                    if _UNSCOPED_WRITES.intersection(actions):
                        # checkov's CKV_AWS_111 (write access without constraints) is the same finding.
                        skip_checkov(policy, "CKV_AWS_111", reason)
                continue
            if "*" in resource:
                reason = next((why for pattern, why in _RESOURCE_REASONS if pattern.fullmatch(resource)), None)
                if reason:
                    _acknowledge(policy, f"Resource::{resource}", reason)


def _acknowledge(policy: IConstruct, finding: str, reason: str) -> None:
    Validations.of(policy).acknowledge(Acknowledgment(id=f"AwsSolutions::AwsSolutions-IAM5[{finding}]", reason=reason))


def grant_connection_with_its_own_prefix(pipeline: pipelines.CodePipeline, connection_arn: str) -> None:
    """Grant ``UseConnection`` under the service prefix of the connection's own ARN.

    CDK's source action always writes ``codestar-connections:UseConnection``; a connection
    created since the rename is ``arn:aws:codeconnections:...``, and the action's service prefix
    must match the resource's for the grant to apply (AWS CodeConnections User Guide, "Service
    prefix rename", https://docs.aws.amazon.com/dtconsole/latest/userguide/rename.html).

    Call last, after ``build_pipeline``: the policies are rendered here, so a statement CDK
    added to them afterwards would be lost (the delivery snapshot test shows any such change).
    """
    service = connection_arn.split(":")[2]
    if service == "codestar-connections":
        return
    stack = Stack.of(pipeline)
    for construct in pipeline.node.find_all():
        if not isinstance(construct, iam.CfnPolicy):
            continue
        document = stack.resolve(construct.policy_document)
        statements = [s for s in document.get("Statement", []) if s.get("Action") == "codestar-connections:UseConnection"]
        for statement in statements:
            if statement.get("Resource") == connection_arn:
                statement["Action"] = f"{service}:UseConnection"
        if statements:
            construct.policy_document = document


_PIPELINE_SERVICES = ("codebuild.amazonaws.com", "codepipeline.amazonaws.com")


def bind_service_roles_to_account(pipeline: pipelines.CodePipeline) -> None:
    """CDK Pipelines' CodeBuild and CodePipeline roles trust their service with no condition:
    add ``aws:SourceAccount`` (the pipeline's account), so the service may assume them only
    for projects and pipelines of this account (AWS CodeBuild User Guide, "Cross-service confused
    deputy prevention", https://docs.aws.amazon.com/codebuild/latest/userguide/cross-service-confused-deputy-prevention.html;
    AWS CodePipeline User Guide, "Cross-service confused deputy prevention",
    https://docs.aws.amazon.com/codepipeline/latest/userguide/security-iam.html).

    ``aws:SourceArn`` is left out: the projects' and the pipeline's names are generated, and a
    reference to them from their own role's trust would be a circular dependency. Call after
    ``build_pipeline``, like :func:`grant_connection_with_its_own_prefix`.
    """
    stack = Stack.of(pipeline)
    for construct in pipeline.node.find_all():
        if not isinstance(construct, iam.CfnRole):
            continue
        document = stack.resolve(construct.assume_role_policy_document)
        changed = False
        for statement in document.get("Statement", []):
            services = _as_list(statement.get("Principal", {}).get("Service", []))
            if any(s in _PIPELINE_SERVICES for s in services) and "Condition" not in statement:
                statement["Condition"] = {"StringEquals": {"aws:SourceAccount": stack.account}}
                changed = True
        if changed:
            construct.assume_role_policy_document = document
