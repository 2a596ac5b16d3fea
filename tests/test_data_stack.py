"""The Data stack: encrypted, private, TLS-only buckets and a rotated key; kept in prod."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import SynthesizedEnvironment, SynthesizedStack


def buckets(stack: SynthesizedStack) -> dict[str, dict[str, Any]]:
    return stack.resources("AWS::S3::Bucket")


def bucket(stack: SynthesizedStack, logical_prefix: str) -> dict[str, Any]:
    (found,) = [v for k, v in buckets(stack).items() if k.startswith(logical_prefix)]
    return found["Properties"]


def data_key(stack: SynthesizedStack) -> dict[str, Any]:
    """The key of data and models (the notification topics have a key of their own)."""
    (key,) = [k for name, k in stack.resources("AWS::KMS::Key").items() if name.startswith("DataKey")]
    return key


@pytest.fixture(params=["dev", "prod"], scope="module")
def data(request: pytest.FixtureRequest, synthesized: dict[str, SynthesizedEnvironment]) -> SynthesizedStack:
    return synthesized[request.param]["Data"]


def test_key_rotates_and_has_an_alias(data: SynthesizedStack) -> None:
    assert all(key["Properties"]["EnableKeyRotation"] is True for key in data.resources("AWS::KMS::Key").values())
    aliases = sorted(a["Properties"]["AliasName"] for a in data.resources("AWS::KMS::Alias").values())
    assert aliases == [f"alias/mlops-{data.environment}-data", f"alias/mlops-{data.environment}-notifications"]


def test_data_buckets_use_the_customer_managed_key_with_bucket_keys(data: SynthesizedStack) -> None:
    key_id = next(logical_id for logical_id in data.resources("AWS::KMS::Key") if logical_id.startswith("DataKey"))
    for name in ("TrainingData", "ModelArtifacts", "Batch"):
        (rule,) = bucket(data, name)["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert rule["BucketKeyEnabled"] is True
        assert rule["ServerSideEncryptionByDefault"] == {
            "SSEAlgorithm": "aws:kms",
            "KMSMasterKeyID": {"Fn::GetAtt": [key_id, "Arn"]},
        }


def test_access_log_bucket_uses_sse_s3_because_s3_log_delivery_requires_it(data: SynthesizedStack) -> None:
    (rule,) = bucket(data, "AccessLogs")["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}


def test_every_bucket_blocks_public_access_and_disables_acls(data: SynthesizedStack) -> None:
    for properties in (b["Properties"] for b in buckets(data).values()):
        assert properties["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        assert properties["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}


def test_every_bucket_denies_requests_without_tls(data: SynthesizedStack) -> None:
    policies = data.resources("AWS::S3::BucketPolicy").values()
    protected = set()
    for policy in policies:
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement["Effect"] == "Deny" and statement.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}:
                protected.add(policy["Properties"]["Bucket"]["Ref"])
    assert protected == set(buckets(data))


def test_every_bucket_but_the_log_bucket_logs_access(data: SynthesizedStack) -> None:
    log_bucket = next(k for k in buckets(data) if k.startswith("AccessLogs"))
    for name, resource in buckets(data).items():
        if name != log_bucket:
            assert resource["Properties"]["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": log_bucket}


def test_durable_data_is_versioned_and_transient_data_expires(data: SynthesizedStack) -> None:
    for name in ("TrainingData", "ModelArtifacts"):
        properties = bucket(data, name)
        assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
        rules = {rule["Id"]: rule for rule in properties["LifecycleConfiguration"]["Rules"]}
        assert rules["expire-noncurrent-versions"]["NoncurrentVersionExpiration"]["NoncurrentDays"] >= 1
        assert rules["abort-incomplete-multipart-uploads"]["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] == 7
    batch_rules = {rule["Id"]: rule for rule in bucket(data, "Batch")["LifecycleConfiguration"]["Rules"]}
    assert set(batch_rules) == {"abort-incomplete-multipart-uploads", "expire-current-objects"}


def test_training_and_batch_buckets_send_events_to_eventbridge_without_a_custom_resource(data: SynthesizedStack) -> None:
    for name in ("TrainingData", "Batch"):
        assert bucket(data, name)["NotificationConfiguration"] == {"EventBridgeConfiguration": {"EventBridgeEnabled": True}}
    assert "NotificationConfiguration" not in bucket(data, "ModelArtifacts")
    assert not [r for r in data.template["Resources"].values() if r["Type"].startswith("Custom::")]
    assert not data.resources("AWS::Lambda::Function")


def test_bucket_names_are_stable_and_fit_s3_limits(data: SynthesizedStack) -> None:
    names = sorted(bucket(data, name)["BucketName"] for name in ("TrainingData", "ModelArtifacts", "Batch"))
    env = data.environment
    account = {"dev": "111111111111", "prod": "222222222222"}[env]
    assert names == [f"mlops-{env}-{purpose}-{account}-eu-west-1" for purpose in ("batch", "data", "models")]
    assert all(len(name) <= 63 for name in names)


def test_prod_retains_data_and_dev_may_be_torn_down(dev: SynthesizedEnvironment, prod: SynthesizedEnvironment) -> None:
    stateful = ("AWS::S3::Bucket", "AWS::KMS::Key")
    for environment, policy in ((prod, "Retain"), (dev, "Delete")):
        for resource_type in stateful:
            for resource in environment["Data"].resources(resource_type).values():
                assert resource["DeletionPolicy"] == policy
                assert resource["UpdateReplacePolicy"] == policy
    assert data_key(prod["Data"])["Properties"]["PendingWindowInDays"] == 30


def test_termination_protection_follows_config(synthesized: dict[str, SynthesizedEnvironment]) -> None:
    import json

    for environment in synthesized.values():
        manifest = json.loads((next(iter(environment.stacks.values())).directory / "manifest.json").read_text())
        flags = {
            a["properties"].get("terminationProtection", False)
            for a in manifest["artifacts"].values()
            if a["type"] == "aws:cloudformation:stack"
        }
        assert flags == {environment.config.termination_protection}


def test_dev_shares_only_trained_models_with_the_accounts_in_config(dev: SynthesizedEnvironment, prod: SynthesizedEnvironment) -> None:
    assert dev.config.registry.shared_with_accounts == ["222222222222"]
    prod_root = {"AWS": "arn:aws:iam::222222222222:root"}
    bucket_statements = [
        s for p in dev["Data"].resources("AWS::S3::BucketPolicy").values() for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Principal") == prod_root
    ]  # fmt: skip
    (shared,) = bucket_statements
    assert shared["Action"] == "s3:GetObject"
    assert shared["Resource"]["Fn::Join"][1][1] == "/training-jobs/*"
    key_statements = [s for s in data_key(dev["Data"])["Properties"]["KeyPolicy"]["Statement"] if s.get("Principal") == prod_root]
    assert key_statements == [
        {
            "Action": "kms:Decrypt",
            "Condition": {"StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}},
            "Effect": "Allow",
            "Principal": prod_root,
            "Resource": "*",
        }
    ]
    group = dev["Training"].resource("AWS::SageMaker::ModelPackageGroup")["Properties"]
    (statement,) = group["ModelPackageGroupPolicy"]["Statement"]
    assert statement["Principal"] == {"AWS": ["arn:aws:iam::222222222222:root"]}
    assert "sagemaker:UpdateModelPackage" not in statement["Action"], "approval stays with dev"
    assert "ModelPackageGroupPolicy" not in prod["Training"].resource("AWS::SageMaker::ModelPackageGroup")["Properties"]
