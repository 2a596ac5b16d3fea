"""Who may change what an endpoint serves, page on-call, or act for a pipeline: the policies that
decide it, read from the synthesized templates."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import SynthesizedEnvironment, SynthesizedStack

ACCOUNTS = {"dev": "111111111111", "prod": "222222222222"}


@pytest.fixture(params=["dev", "prod"], scope="module")
def environment(request: pytest.FixtureRequest, synthesized: dict[str, SynthesizedEnvironment]) -> SynthesizedEnvironment:
    return synthesized[request.param]


def topic_statements(stack: SynthesizedStack) -> list[dict[str, Any]]:
    return [s for policy in stack.resources("AWS::SNS::TopicPolicy").values() for s in policy["Properties"]["PolicyDocument"]["Statement"]]


def key_named(stack: SynthesizedStack, logical_prefix: str) -> dict[str, Any]:
    (key,) = [k for name, k in stack.resources("AWS::KMS::Key").items() if name.startswith(logical_prefix)]
    return key


# --- alarms page on-call only for this environment's alarms ------------------------------------


def test_only_this_environments_alarms_may_publish_to_the_alarm_topic(environment: SynthesizedEnvironment) -> None:
    account = environment.config.account
    statements = topic_statements(environment["Monitoring"])
    (allow,) = [s for s in statements if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert allow["Condition"] == {
        "StringEquals": {"aws:SourceAccount": account},
        "ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:eu-west-1:{account}:alarm:{environment.config.prefix}-*"},
    }
    (others,) = [s for s in statements if s.get("Sid") == "OnlyNamedPublishers"]
    assert others["Effect"] == "Deny"
    assert others["Action"] == "sns:Publish"
    assert others["Condition"] == {"StringNotEqualsIfExists": {"aws:PrincipalServiceName": ["cloudwatch.amazonaws.com"]}}


@pytest.mark.parametrize("stack", ["Training", "BatchTransform"])
def test_pipeline_topics_take_messages_only_from_their_state_machine(environment: SynthesizedEnvironment, stack: str) -> None:
    template = environment[stack]
    (machine_role,) = [name for name in template.resources("AWS::IAM::Role") if name.startswith("PipelineMachineStateMachineRole")]
    statements = topic_statements(template)
    assert not [s for s in statements if s["Effect"] == "Allow"], "no publisher by resource policy"
    (others,) = [s for s in statements if s.get("Sid") == "OnlyNamedPublishers"]
    assert others["Effect"] == "Deny"
    assert others["Principal"] == {"AWS": "*"}
    assert others["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": [{"Fn::GetAtt": [machine_role, "Arn"]}]}}


# --- the data key trusts no notification service -----------------------------------------------


def test_the_data_key_trusts_no_service_but_cloudwatch_logs_for_named_log_groups(environment: SynthesizedEnvironment) -> None:
    statements = key_named(environment["Data"], "DataKey")["Properties"]["KeyPolicy"]["Statement"]
    services = [s for s in statements if "Service" in s.get("Principal", {})]
    assert services, "CloudWatch Logs encrypts the execution logs"
    for statement in services:
        assert statement["Principal"] == {"Service": "logs.eu-west-1.amazonaws.com"}
        assert list(statement["Condition"]) == ["ArnEquals"], "bound to the log groups by encryption context"


def test_every_topic_is_encrypted_with_the_notification_key(environment: SynthesizedEnvironment) -> None:
    for stack in ("Training", "BatchTransform", "Monitoring"):
        for topic in environment[stack].resources("AWS::SNS::Topic").values():
            imported = topic["Properties"]["KmsMasterKeyId"]["Fn::ImportValue"]
            assert "NotificationKey" in imported, (stack, imported)


# --- each role trusts only the principal that acts for it --------------------------------------


def trust(stack: SynthesizedStack, logical_prefix: str) -> dict[str, Any]:
    (role,) = [r for name, r in stack.resources("AWS::IAM::Role").items() if name.startswith(logical_prefix)]
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    return statement


@pytest.mark.parametrize(("stack", "machine"), [("Training", "training"), ("BatchTransform", "batch-transform")])
def test_a_state_machine_role_is_assumable_by_its_own_state_machine_only(
    environment: SynthesizedEnvironment, stack: str, machine: str
) -> None:
    account, prefix = environment.config.account, environment.config.prefix
    statement = trust(environment[stack], "PipelineMachineStateMachineRole")
    arn = f"arn:aws:states:eu-west-1:{account}:stateMachine:{prefix}-{machine}"
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": account}, "ArnEquals": {"aws:SourceArn": arn}}
    (state_machine,) = environment[stack].resources("AWS::StepFunctions::StateMachine").values()
    assert state_machine["Properties"]["StateMachineName"] == f"{prefix}-{machine}", "the name the trust relies on"


def test_eventbridge_starts_a_pipeline_only_for_its_own_rule(environment: SynthesizedEnvironment) -> None:
    account = environment.config.account
    for stack in ("Training", "BatchTransform"):
        template = environment[stack]
        rules = template.resources("AWS::Events::Rule")
        assert rules
        for rule in rules.values():
            (target,) = rule["Properties"]["Targets"]
            role = template.template["Resources"][target["RoleArn"]["Fn::GetAtt"][0]]
            (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
            assert statement["Principal"] == {"Service": "events.amazonaws.com"}
            name = rule["Properties"]["Name"]
            assert statement["Condition"] == {
                "StringEquals": {"aws:SourceAccount": account},
                "ArnEquals": {"aws:SourceArn": f"arn:aws:events:eu-west-1:{account}:rule/{name}"},
            }


def test_the_pipeline_registers_versions_only_pending_approval(environment: SynthesizedEnvironment) -> None:
    statements = [
        s
        for policy in environment["Training"].resources("AWS::IAM::Policy").values()
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if "sagemaker:CreateModelPackage" in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    ]
    assert [s["Condition"] for s in statements] == [{"StringEquals": {"sagemaker:ModelApprovalStatus": "PendingManualApproval"}}]


def test_grants_by_bucket_name_stay_in_the_buckets_account(environment: SynthesizedEnvironment) -> None:
    for stack in environment.stacks.values():
        for policy in stack.resources("AWS::IAM::Policy").values():
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                if any(a.startswith("s3:") for a in actions):
                    condition = statement.get("Condition", {}).get("StringEquals", {})
                    assert condition.get("s3:ResourceAccount") == environment.config.account, (stack.name, statement)


# --- what an endpoint serves cannot change without Git -----------------------------------------


def test_promoted_artifacts_are_write_once_for_every_principal(environment: SynthesizedEnvironment) -> None:
    models = f"arn:aws:s3:::{environment.config.bucket_names['models']}"
    statements = [
        s
        for policy in environment["Data"].resources("AWS::S3::BucketPolicy").values()
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Sid", "").startswith("WriteOnce")
    ]
    by_sid = {s["Sid"]: s for s in statements}
    assert by_sid["WriteOnceCreateOnly"] == {
        "Sid": "WriteOnceCreateOnly",
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": "s3:PutObject",
        "Resource": f"{models}/promoted/*",
        "Condition": {"Null": {"s3:if-none-match": "true"}},
    }
    assert by_sid["WriteOnceNeverDeleted"]["Effect"] == "Deny"
    assert by_sid["WriteOnceNeverDeleted"]["Action"] == ["s3:DeleteObject", "s3:DeleteObjectVersion"]


def s3_resources(stack: SynthesizedStack, action: str, role_prefix: str = "") -> set[Any]:
    """Every resource the stack's identity policies (of roles whose logical id starts with ``role_prefix``) grant ``action`` on."""
    return {
        resource
        for policy in stack.resources("AWS::IAM::Policy").values()
        if any(role.get("Ref", "").startswith(role_prefix) for role in policy["Properties"]["Roles"])
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if action in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
        for resource in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
    }


def test_training_jobs_write_only_their_own_folders_and_the_endpoint_reads_only_promoted_artifacts(
    environment: SynthesizedEnvironment,
) -> None:
    models = f"arn:aws:s3:::{environment.config.bucket_names['models']}"
    prefix = environment.config.prefix
    writes = s3_resources(environment["Training"], "s3:PutObject")
    assert f"{models}/training-jobs/{prefix}-*/output/*" in writes
    assert not [w for w in writes if "promoted/" in str(w) or w == f"{models}/training-jobs/*"]
    reads = s3_resources(environment["Inference"], "s3:GetObject", "ModelRole")
    if environment.config.inference.model.model_package_arn:  # type: ignore[union-attr]
        assert reads == {f"{models}/promoted/*"}
