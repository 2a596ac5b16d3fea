"""The construct library refuses bad props with a message that names the prop and the rule."""

from __future__ import annotations

from collections.abc import Callable

import aws_cdk as cdk
import pytest
from aws_cdk import aws_cloudwatch as cloudwatch

from app import cdk_json_context
from ml_constructs import AccessLogsBucket, AccessLogsBucketProps, BucketLifecycle, EncryptionKey, EncryptionKeyProps
from ml_constructs.endpoint import InstanceVariant, RealtimeEndpointProps, ServerlessVariant, TrafficShift
from ml_constructs.endpoint_autoscaling import EndpointAutoscalingProps
from ml_constructs.iam import SageMakerExecutionRole, SageMakerExecutionRoleProps
from ml_constructs.model import ModelSource
from ml_constructs.monitoring import AlarmSpec
from ml_constructs.storage import SecureBucket, SecureBucketProps
from ml_constructs.training_pipeline import TrainingJobSettings
from ml_constructs.transform_pipeline import TransformJobSettings

ENV = cdk.Environment(account="111111111111", region="eu-west-1")


@pytest.fixture
def stack() -> cdk.Stack:
    # The project's feature flags: access-log delivery by bucket policy needs one of them.
    return cdk.Stack(cdk.App(context=cdk_json_context()), "Probe", env=ENV)


def metric() -> cloudwatch.Metric:
    return cloudwatch.Metric(namespace="n", metric_name="m")


def job(**changes: object) -> TrainingJobSettings:
    settings = {
        "training_image": "i",
        "inference_image": "i",
        "framework_version": "3.2-0",
        "instance_type": "ml.m5.large",
        "instance_count": 1,
        "volume_size_gb": 30,
        "max_runtime_seconds": 3600,
        "hyperparameters": {},
        "metric_definitions": [],
    } | changes
    return TrainingJobSettings(**settings)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: BucketLifecycle(noncurrent_version_expiration_days=0),
            r"BucketLifecycle.noncurrent_version_expiration_days: 0 must be at least 1",
        ),
        (lambda: BucketLifecycle(current_object_expiration_days=0), r"current_object_expiration_days: 0 must be at least 1 day"),
        (lambda: ModelSource(), r"ModelSource: give model_package_arn, or image_uri and model_data_url"),
        (lambda: InstanceVariant("m5.large"), r"InstanceVariant.instance_type: 'm5.large' is not of the form ml.<family>.<size>"),
        (lambda: InstanceVariant("ml.m5.large", 0), r"InstanceVariant.initial_instance_count: 0 must be at least 1"),
        (lambda: job(instance_count=0), r"TrainingJobSettings.instance_count: 0 must be at least 1"),
        (
            lambda: job(spot=True, max_wait_seconds=60),
            r"TrainingJobSettings.max_wait_seconds: 60 must be at least max_runtime_seconds \(3600\)",
        ),
        (lambda: job(hyperparameters={"sagemaker_program": "x.py"}), r"\['sagemaker_program'\] are set by the pipeline"),
        (lambda: TransformJobSettings("ml.m5.large", 30, instance_count=0), r"TransformJobSettings.instance_count: 0 must be at least 1"),
        (
            lambda: TransformJobSettings("ml.m5.large", 30, max_payload_mb=30, max_concurrent_transforms=4),
            r"= 120 MB; SageMaker allows at most 100",
        ),
        (
            lambda: AlarmSpec(
                "x", cloudwatch.Metric(namespace="n", metric_name="m"), 1, "m.", "f.", evaluation_periods=2, datapoints_to_alarm=3
            ),
            r"AlarmSpec x: datapoints_to_alarm \(3\) must be between 1 and evaluation_periods \(2\)",
        ),
    ],
)
def test_props_are_validated_when_built(build: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()


def test_key_alias_is_a_bare_name(stack: cdk.Stack) -> None:
    with pytest.raises(ValueError, match=r"EncryptionKeyProps.alias: 'alias/x' must be a non-empty name without the 'alias/' prefix"):
        EncryptionKey(stack, "Key", EncryptionKeyProps(alias="alias/x", description="d"))
    with pytest.raises(ValueError, match=r"EncryptionKeyProps.pending_window_days: 3 must be between 7 and 30"):
        EncryptionKey(stack, "Key2", EncryptionKeyProps(alias="x", description="d", pending_window_days=3))


def test_buckets_check_prefixes_and_keys(stack: cdk.Stack) -> None:
    key = EncryptionKey(stack, "Key", EncryptionKeyProps(alias="x", description="d")).key
    logs = AccessLogsBucket(stack, "Logs", AccessLogsBucketProps())
    with pytest.raises(ValueError, match=r"SecureBucketProps.access_logs_prefix: 'data' must end with '/'"):
        SecureBucket(stack, "Bad", SecureBucketProps(encryption_key=key, bucket_name=None, access_logs=logs, access_logs_prefix="data"))
    bucket = SecureBucket(
        stack, "Data", SecureBucketProps(encryption_key=key, bucket_name="b-1", access_logs=logs, access_logs_prefix="data/")
    )
    role = SageMakerExecutionRole(stack, "Role", SageMakerExecutionRoleProps(description="d"))
    with pytest.raises(ValueError, match=r"prefix '/training/\*' must be a key prefix such as 'training/'"):
        bucket.grant_read_prefix(role, "/training/*")
    with pytest.raises(ValueError, match=r"key 'models/' must name one object"):
        bucket.grant_read_object(role, "models/")


def test_roles_need_a_log_kind(stack: cdk.Stack) -> None:
    with pytest.raises(
        ValueError, match=r"SageMakerExecutionRoleProps.log_kinds: give at least one of TrainingJobs, TransformJobs, Endpoints"
    ):
        SageMakerExecutionRole(stack, "Role", SageMakerExecutionRoleProps(description="d", log_kinds=()))


def test_endpoints_must_be_able_to_roll_back(stack: cdk.Stack) -> None:
    key = EncryptionKey(stack, "Key", EncryptionKeyProps(alias="x", description="d")).key
    common = {"model": object(), "variant": InstanceVariant("ml.m5.large"), "encryption_key": key, "traffic_shift": TrafficShift()}
    with pytest.raises(ValueError, match=r"rollback_alarm_names: give at least one alarm"):
        RealtimeEndpointProps(endpoint_name="ep", rollback_alarm_names=[], **common)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"RealtimeEndpointProps.endpoint_name: 'bad_name!' is not a valid endpoint name"):
        RealtimeEndpointProps(endpoint_name="bad_name!", rollback_alarm_names=["a"], **common)  # type: ignore[arg-type]


def test_autoscaling_bounds(stack: cdk.Stack) -> None:
    with pytest.raises(ValueError, match=r"need 1 <= min_capacity \(3\) <= max_capacity \(2\)"):
        EndpointAutoscalingProps(endpoint=object(), min_capacity=3, max_capacity=2, target_invocations_per_instance=10)  # type: ignore[arg-type]


def test_serverless_variant_has_no_instance_type() -> None:
    assert not hasattr(ServerlessVariant(), "instance_type")


def test_the_token_check_agrees_with_cdks_own(stack: cdk.Stack) -> None:
    """acknowledge_wildcard_resource tells tokens from literals without asking jsii: it must agree with Token.is_unresolved."""
    from aws_cdk import aws_s3 as s3

    from ml_constructs.nag import _is_token

    bucket = s3.Bucket(stack, "Generated")
    samples = [
        bucket.bucket_arn,
        f"{bucket.bucket_arn}/training/*",
        cdk.Fn.join("", ["arn:aws:s3:::", bucket.bucket_name, "/*"]),
        cdk.Fn.select(0, cdk.Fn.split(",", bucket.bucket_name)),
        f"arn:aws:iam::{cdk.Aws.ACCOUNT_ID}:root",
        "arn:aws:s3:::mlops-dev-data-111111111111-eu-west-1/training/*",
        "arn:aws:logs:eu-west-1:111111111111:log-group:/aws/sagemaker/Endpoints/*:log-stream:*",
        "${NotAToken}",
        "",
    ]
    verdicts = [(_is_token(sample), cdk.Token.is_unresolved(sample)) for sample in samples]
    assert all(ours == cdks for ours, cdks in verdicts), list(zip(samples, verdicts, strict=True))
    assert [ours for ours, _ in verdicts].count(True) == 5
