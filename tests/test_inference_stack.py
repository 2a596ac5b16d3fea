"""The Inference stack: model, endpoint config, safe endpoint updates and autoscaling."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from config import EnvironmentConfig, load_environment
from config.schema import InferenceConfig
from ml_constructs.endpoint import has_instance_storage
from tests.conftest import SynthesizedEnvironment, SynthesizedStack, synthesize

ACCOUNTS = {"dev": "111111111111", "prod": "222222222222"}


@pytest.fixture(params=["dev", "prod"], scope="module")
def inference(request: pytest.FixtureRequest, synthesized: dict[str, SynthesizedEnvironment]) -> SynthesizedStack:
    return synthesized[request.param]["Inference"]


def props(stack: SynthesizedStack, resource_type: str) -> dict[str, Any]:
    return stack.resource(resource_type)["Properties"]


def with_inference(name: str, monitoring: dict[str, Any] | None = None, **changes: Any) -> EnvironmentConfig:
    config = load_environment(name)
    assert config.inference is not None
    inference = InferenceConfig.model_validate(config.inference.model_dump() | changes)
    # The whole environment validated again: what one field needs of another holds in tests too.
    return EnvironmentConfig.model_validate(
        config.model_dump()
        | {"inference": inference.model_dump()}
        | ({"monitoring": config.monitoring.model_dump() | monitoring} if monitoring else {})
    )


def test_model_is_network_isolated_and_uses_its_own_role(inference: SynthesizedStack) -> None:
    model = props(inference, "AWS::SageMaker::Model")
    assert model["EnableNetworkIsolation"] is True
    role_id = model["ExecutionRoleArn"]["Fn::GetAtt"][0]
    assert role_id.startswith("ModelRole")
    (statement,) = inference.template["Resources"][role_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "sagemaker.amazonaws.com"}


def test_model_version_comes_from_config(dev: SynthesizedEnvironment, prod: SynthesizedEnvironment) -> None:
    dev_container = props(dev["Inference"], "AWS::SageMaker::Model")["PrimaryContainer"]
    assert dev_container == {
        "Image": "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:3.2-0",
        "ModelDataUrl": f"s3://mlops-dev-models-111111111111-eu-west-1/{dev.config.inference.model.artifact_key}",  # type: ignore[union-attr]
    }
    prod_container = props(prod["Inference"], "AWS::SageMaker::Model")["PrimaryContainer"]
    assert prod_container == {"ModelPackageName": prod.config.inference.model.model_package_arn}  # type: ignore[union-attr]


def test_model_role_reads_only_the_model_and_writes_only_data_capture(dev: SynthesizedEnvironment) -> None:
    stack = dev["Inference"]
    models = "arn:aws:s3:::mlops-dev-models-111111111111-eu-west-1"
    s3 = {
        (action, json.dumps(resource) if not isinstance(resource, str) else resource)
        for policy in stack.resources("AWS::IAM::Policy").values()
        if any(role["Ref"].startswith("ModelRole") for role in policy["Properties"]["Roles"])
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        for action in (statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]])
        if action.startswith("s3:")
        for resource in (statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]])
    }
    assert s3 == {
        ("s3:GetObject", f"{models}/{dev.config.inference.model.artifact_key}"),  # type: ignore[union-attr]
        ("s3:PutObject", f"{models}/data-capture/*"),
        ("s3:AbortMultipartUpload", f"{models}/data-capture/*"),
        ("s3:ListBucket", models),
    }


def test_variant_instances_and_volume_key_from_config(synthesized: dict[str, SynthesizedEnvironment]) -> None:
    for environment in synthesized.values():
        config = props(environment["Inference"], "AWS::SageMaker::EndpointConfig")
        (variant,) = config["ProductionVariants"]
        expected = environment.config.inference.variant  # type: ignore[union-attr]
        assert variant["InstanceType"] == expected.instance_type  # type: ignore[union-attr]
        assert variant["InitialInstanceCount"] == expected.initial_instance_count  # type: ignore[union-attr]
        assert "Fn::ImportValue" in config["KmsKeyId"]
    assert props(synthesized["prod"]["Inference"], "AWS::SageMaker::EndpointConfig")["ProductionVariants"][0]["InitialInstanceCount"] >= 2


def test_data_capture_is_encrypted_and_sampled_as_configured(
    inference: SynthesizedStack, synthesized: dict[str, SynthesizedEnvironment]
) -> None:
    capture = props(inference, "AWS::SageMaker::EndpointConfig")["DataCaptureConfig"]
    env = inference.environment
    assert capture["EnableCapture"] is True
    assert capture["InitialSamplingPercentage"] == synthesized[env].config.inference.data_capture.sampling_percentage  # type: ignore[union-attr]
    assert capture["DestinationS3Uri"] == f"s3://mlops-{env}-models-{ACCOUNTS[env]}-eu-west-1/data-capture/"
    assert "Fn::ImportValue" in capture["KmsKeyId"]
    assert {o["CaptureMode"] for o in capture["CaptureOptions"]} == {"Input", "Output"}


def test_names_are_generated_except_the_endpoints(inference: SynthesizedStack) -> None:
    assert "ModelName" not in props(inference, "AWS::SageMaker::Model")
    assert "EndpointConfigName" not in props(inference, "AWS::SageMaker::EndpointConfig")
    endpoint = props(inference, "AWS::SageMaker::Endpoint")
    assert endpoint["EndpointName"] == f"mlops-{inference.environment}-xgboost"
    assert endpoint["EndpointConfigName"]["Fn::GetAtt"][1] == "EndpointConfigName"


def test_endpoint_name_is_published_for_clients(inference: SynthesizedStack) -> None:
    parameter = props(inference, "AWS::SSM::Parameter")
    assert parameter["Name"] == f"/mlops-{inference.environment}/inference/endpoint-name"
    assert parameter["Value"] == f"mlops-{inference.environment}-xgboost"
    assert inference.template["Outputs"]["EndpointName"]["Value"] == f"mlops-{inference.environment}-xgboost"


def test_blue_green_updates_roll_back_on_the_monitoring_error_rate_and_latency_alarms(prod: SynthesizedEnvironment) -> None:
    deployment = props(prod["Inference"], "AWS::SageMaker::Endpoint")["DeploymentConfig"]
    policy = deployment["BlueGreenUpdatePolicy"]
    assert policy["TrafficRoutingConfiguration"] == {
        "Type": "CANARY",
        "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 10},
        "WaitIntervalInSeconds": 600,
    }
    assert policy["TerminationWaitInSeconds"] == 300
    rollback = [a["AlarmName"] for a in deployment["AutoRollbackConfiguration"]["Alarms"]]
    assert rollback == ["mlops-prod-endpoint-5xx-error-rate", "mlops-prod-endpoint-p99-model-latency"]
    defined = {a["Properties"]["AlarmName"] for a in prod["Monitoring"].resources("AWS::CloudWatch::Alarm").values()}
    assert set(rollback) <= defined, "one definition: the monitoring alarms are the rollback alarms"
    assert not prod["Inference"].resources("AWS::CloudWatch::Alarm")


def test_inference_deploys_after_the_alarms_it_names(prod: SynthesizedEnvironment) -> None:
    manifest = json.loads((prod["Inference"].directory / "manifest.json").read_text())
    inference = next(a for a in manifest["artifacts"].values() if a.get("displayName") == "prod/Inference")
    assert any("Monitoring" in dependency for dependency in inference["dependencies"])


def test_autoscaling_tracks_invocations_per_instance(prod: SynthesizedEnvironment) -> None:
    stack = prod["Inference"]
    scaling = prod.config.inference.autoscaling  # type: ignore[union-attr]
    target = stack.resource("AWS::ApplicationAutoScaling::ScalableTarget")
    assert target["Properties"]["ResourceId"] == "endpoint/mlops-prod-xgboost/variant/primary"
    assert target["Properties"]["ScalableDimension"] == "sagemaker:variant:DesiredInstanceCount"
    assert (target["Properties"]["MinCapacity"], target["Properties"]["MaxCapacity"]) == (2, 6)
    assert target["Properties"]["RoleARN"].endswith("AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint")
    assert target["DependsOn"] == [next(iter(stack.resources("AWS::SageMaker::Endpoint")))]
    policy = stack.resource("AWS::ApplicationAutoScaling::ScalingPolicy")["Properties"]["TargetTrackingScalingPolicyConfiguration"]
    assert policy["PredefinedMetricSpecification"] == {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}
    assert policy["TargetValue"] == scaling.max_rps_per_instance * scaling.safety_factor * 60 == 1200  # type: ignore[union-attr]
    assert (policy["ScaleInCooldown"], policy["ScaleOutCooldown"]) == (600, 60)
    schedules = {a["ScheduledActionName"]: a for a in target["Properties"]["ScheduledActions"]}
    assert schedules["business-hours"]["Schedule"] == "cron(0 7 ? * MON-FRI *)"
    assert schedules["business-hours"]["ScalableTargetAction"] == {"MinCapacity": 3, "MaxCapacity": 6}


def test_autoscaled_count_survives_updates(inference: SynthesizedStack) -> None:
    endpoint = props(inference, "AWS::SageMaker::Endpoint")
    assert endpoint["RetainAllVariantProperties"] is True
    # botocore: VariantPropertyType DataCaptureConfig is "(Not currently supported.)"
    assert "ExcludeRetainedVariantProperties" not in endpoint


@pytest.fixture(scope="module")
def variations(tmp_path_factory: pytest.TempPathFactory) -> dict[str, SynthesizedEnvironment]:
    """prod with a new model version, and the two deployments of an instance type change."""
    base = load_environment("prod")
    assert base.inference is not None
    assert base.inference.autoscaling is not None
    scaling = base.inference.autoscaling.model_dump()
    new_version = with_inference(
        "prod",
        model={
            "model_package_arn": "arn:aws:sagemaker:eu-west-1:222222222222:model-package/mlops-prod-xgboost/2",
            "baseline_prefix": "promoted/mlops-dev-xgboost/2/baseline/",
            "features": 30,
        },
    )
    suspended = with_inference("prod", autoscaling=scaling | {"suspended": True})
    new_type = with_inference("prod", variant={"instance_type": "ml.c5.2xlarge", "initial_instance_count": 2})
    configs = (("base", base), ("new_version", new_version), ("suspended", suspended), ("new_type", new_type))
    return {label: synthesize([config], tmp_path_factory.mktemp(label))["prod"] for label, config in configs}


def logical_ids(environment: SynthesizedEnvironment, resource_type: str) -> set[str]:
    return set(environment["Inference"].resources(resource_type))


SCALING_TYPES = (
    "AWS::ApplicationAutoScaling::ScalableTarget",
    "AWS::ApplicationAutoScaling::ScalingPolicy",
)


def test_a_new_model_version_updates_the_endpoint_in_place_with_the_same_variant(variations: dict[str, SynthesizedEnvironment]) -> None:
    """The routine change: a new Model and EndpointConfig (generated names, so CloudFormation
    replaces them), the same Endpoint (blue/green update), the same variant name (traffic
    shifting needs it) and the same scalable target, which SageMaker allows for a model change."""
    base, new = variations["base"]["Inference"], variations["new_version"]["Inference"]
    assert props(base, "AWS::SageMaker::Model") != props(new, "AWS::SageMaker::Model")
    assert props(base, "AWS::SageMaker::Endpoint") == props(new, "AWS::SageMaker::Endpoint")
    assert props(base, "AWS::ApplicationAutoScaling::ScalableTarget") == props(new, "AWS::ApplicationAutoScaling::ScalableTarget")
    for resource_type in ("AWS::SageMaker::Endpoint", "AWS::ApplicationAutoScaling::ScalableTarget"):
        assert logical_ids(variations["base"], resource_type) == logical_ids(variations["new_version"], resource_type)


def test_the_variant_name_never_changes(variations: dict[str, SynthesizedEnvironment]) -> None:
    """Deployment guardrails need the old config's variant name; autoscaling registers it."""
    names = {
        label: [v["VariantName"] for v in props(environment["Inference"], "AWS::SageMaker::EndpointConfig")["ProductionVariants"]]
        for label, environment in variations.items()
    }
    assert set(map(tuple, names.values())) == {("primary",)}


def test_suspending_autoscaling_deregisters_the_variant_and_leaves_the_endpoint_alone(
    variations: dict[str, SynthesizedEnvironment],
) -> None:
    """Step 1 of an instance type change: only the registration goes (SageMaker refuses a type
    change on a registered variant, and CloudFormation would deregister only after the update)."""
    base, suspended = variations["base"]["Inference"], variations["suspended"]["Inference"]
    for resource_type in SCALING_TYPES:
        assert base.resources(resource_type)
        assert suspended.resources(resource_type) == {}
    for resource_type in ("AWS::SageMaker::Endpoint", "AWS::SageMaker::EndpointConfig", "AWS::SageMaker::Model"):
        assert props(suspended, resource_type) == props(base, resource_type), resource_type
        assert logical_ids(variations["suspended"], resource_type) == logical_ids(variations["base"], resource_type)


def test_the_new_instance_type_deploys_to_the_same_variant_and_registers_it_again(variations: dict[str, SynthesizedEnvironment]) -> None:
    """Step 2: the same variant on the new type (a blue/green update), then the registration is
    created again, after the endpoint (it depends on it), keeping the capacity the scaler had."""
    suspended, new = variations["suspended"]["Inference"], variations["new_type"]["Inference"]
    (old_variant,) = props(suspended, "AWS::SageMaker::EndpointConfig")["ProductionVariants"]
    (new_variant,) = props(new, "AWS::SageMaker::EndpointConfig")["ProductionVariants"]
    assert (old_variant["InstanceType"], new_variant["InstanceType"]) == ("ml.m5.xlarge", "ml.c5.2xlarge")
    assert props(new, "AWS::ApplicationAutoScaling::ScalableTarget")["ResourceId"] == "endpoint/mlops-prod-xgboost/variant/primary"
    (target,) = new.resources("AWS::ApplicationAutoScaling::ScalableTarget").values()
    (endpoint_id,) = new.resources("AWS::SageMaker::Endpoint")
    assert endpoint_id in target["DependsOn"]
    assert props(new, "AWS::SageMaker::Endpoint")["RetainAllVariantProperties"] is True
    assert props(suspended, "AWS::SageMaker::Endpoint")["RetainAllVariantProperties"] is True


def test_no_model_means_no_inference_stack_and_one_line_saying_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = load_environment("dev").model_copy(update={"inference": None, "batch": None})
    synthesized = synthesize([config], tmp_path)["dev"]
    assert sorted(synthesized.stacks) == ["Data", "Monitoring", "Training"]
    assert capsys.readouterr().err.strip() == "dev: no model configured (inference.model), so no Inference or BatchTransform stack yet"


def test_serverless_variant(tmp_path: Path) -> None:
    config = with_inference(
        "dev",
        variant=None,
        serverless={"memory_size_mb": 3072, "max_concurrency": 10},
        autoscaling=None,
        data_capture={"enabled": False},
        monitoring={"data_quality": {"enabled": False}, "model_quality": None},
    )
    stack = synthesize([config], tmp_path)["dev"]["Inference"]
    endpoint_config = props(stack, "AWS::SageMaker::EndpointConfig")
    (variant,) = endpoint_config["ProductionVariants"]
    assert variant["ServerlessConfig"] == {"MemorySizeInMB": 3072, "MaxConcurrency": 10}
    assert variant["VariantName"] == "primary"
    assert "KmsKeyId" not in endpoint_config
    assert "DataCaptureConfig" not in endpoint_config
    assert not stack.resources("AWS::ApplicationAutoScaling::ScalableTarget")
    assert "RetainAllVariantProperties" not in props(stack, "AWS::SageMaker::Endpoint")


@pytest.mark.parametrize(
    ("instance_type", "expected"),
    [
        ("ml.m5.large", False),
        ("ml.c5.xlarge", False),
        ("ml.m5d.large", True),
        ("ml.g4dn.xlarge", True),
        ("ml.p4d.24xlarge", True),
        ("ml.g5.xlarge", True),
    ],
)
def test_instance_storage_types_get_no_volume_key(instance_type: str, expected: bool) -> None:
    assert has_instance_storage(instance_type) is expected


def test_prod_can_serve_a_version_promoted_from_devs_registry(tmp_path: Path) -> None:
    """Another account's package: the model role reads that account's artifacts and key (by alias), nothing else."""
    dev_package = "arn:aws:sagemaker:eu-west-1:111111111111:model-package/mlops-dev-xgboost/3"
    stack = synthesize(
        [
            with_inference(
                "prod",
                model={"model_package_arn": dev_package, "features": 30, "baseline_prefix": "promoted/mlops-dev-xgboost/3/baseline/"},
            )
        ],
        tmp_path,
    )["prod"]["Inference"]
    assert props(stack, "AWS::SageMaker::Model")["PrimaryContainer"] == {"ModelPackageName": dev_package}
    statements = [s for p in stack.resources("AWS::IAM::Policy").values() for s in p["Properties"]["PolicyDocument"]["Statement"]]
    reads = [s for s in statements if s["Action"] == "s3:GetObject" and "mlops-dev-models" in json.dumps(s["Resource"])]
    assert [s["Resource"] for s in reads] == ["arn:aws:s3:::mlops-dev-models-111111111111-eu-west-1/training-jobs/*"]
    (decrypt,) = [s for s in statements if s["Action"] == "kms:Decrypt" and "111111111111" in json.dumps(s["Resource"])]
    assert decrypt["Resource"] == "arn:aws:kms:eu-west-1:111111111111:key/*"
    assert decrypt["Condition"] == {"ForAnyValue:StringEquals": {"kms:ResourceAliases": "alias/mlops-dev-data"}}
