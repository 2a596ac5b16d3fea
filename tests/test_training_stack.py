"""The Training stack's SageMaker execution role: scoped to its prefixes, key and log group."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import SynthesizedEnvironment, SynthesizedStack

# Actions without resource-level permissions in IAM: the only ones allowed on "*".
NO_RESOURCE_LEVEL_PERMISSIONS = {"cloudwatch:PutMetricData", "ecr:GetAuthorizationToken"}


@pytest.fixture(params=["dev", "prod"], scope="module")
def training(request: pytest.FixtureRequest, synthesized: dict[str, SynthesizedEnvironment]) -> SynthesizedStack:
    return synthesized[request.param]["Training"]


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


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_only_sagemaker_for_this_account_can_assume_the_training_role(training: SynthesizedStack) -> None:
    _, role = role_of(training, "TrainingJobRole")
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    account = {"dev": "111111111111", "prod": "222222222222"}[training.environment]
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": account}}


def test_training_role_reads_only_the_training_prefix_and_writes_only_job_output(training: SynthesizedStack) -> None:
    role_id, _ = role_of(training, "TrainingJobRole")
    env = training.environment
    account = {"dev": "111111111111", "prod": "222222222222"}[env]
    data = f"arn:aws:s3:::mlops-{env}-data-{account}-eu-west-1"
    models = f"arn:aws:s3:::mlops-{env}-models-{account}-eu-west-1"
    s3 = [s for s in statements_of(training, role_id) if any(a.startswith("s3:") for a in as_list(s["Action"]))]
    by_action = {frozenset(as_list(s["Action"])): s for s in s3}
    assert by_action[frozenset({"s3:GetObject"})]["Resource"] == f"{data}/training/*"
    assert by_action[frozenset({"s3:PutObject", "s3:AbortMultipartUpload"})]["Resource"] == f"{models}/training-jobs/*"
    listings = [s for s in s3 if s["Action"] == "s3:ListBucket"]
    assert {(s["Resource"], s["Condition"]["StringLike"]["s3:prefix"][0]) for s in listings} == {
        (data, "training/*"),
        (models, "training-jobs/*"),
    }


def test_no_wildcard_resource_except_where_iam_has_no_resource_level_permissions(training: SynthesizedStack) -> None:
    for policy in training.resources("AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if "*" in as_list(statement["Resource"]):
                assert set(as_list(statement["Action"])) <= NO_RESOURCE_LEVEL_PERMISSIONS, statement
            for action in as_list(statement["Action"]):
                assert "*" not in action, statement


def test_kms_use_is_limited_to_the_environment_key(training: SynthesizedStack) -> None:
    role_id, _ = role_of(training, "TrainingJobRole")
    kms = [s for s in statements_of(training, role_id) if any(a.startswith("kms:") for a in as_list(s["Action"]))]
    assert kms
    for statement in kms:
        assert set(as_list(statement["Action"])) <= {"kms:Decrypt", "kms:GenerateDataKey"}
        assert "Fn::ImportValue" in statement["Resource"]


def test_metrics_are_limited_to_sagemaker_namespaces(training: SynthesizedStack) -> None:
    role_id, _ = role_of(training, "TrainingJobRole")
    (metrics,) = [s for s in statements_of(training, role_id) if s["Action"] == "cloudwatch:PutMetricData"]
    assert metrics["Condition"] == {"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}}


def test_image_pull_is_limited_to_the_xgboost_repository(training: SynthesizedStack) -> None:
    role_id, _ = role_of(training, "TrainingJobRole")
    (pull,) = [s for s in statements_of(training, role_id) if "ecr:BatchGetImage" in as_list(s["Action"])]
    assert pull["Resource"] == "arn:aws:ecr:eu-west-1:141502667606:repository/sagemaker-xgboost"
