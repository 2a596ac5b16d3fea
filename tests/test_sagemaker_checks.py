"""The SageMaker rule pack: each rule fails on a minimal stack that breaks it and passes on one
that follows it, reading the synthesized templates (so escape hatches are caught too)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_stepfunctions as sfn

from ml_constructs.sagemaker_checks import RULES, CheckOptions, SageMakerChecks, check, load
from tests.conftest import SynthesizedEnvironment

ENV = cdk.Environment(account="111111111111", region="eu-west-1")
ROLE = "arn:aws:iam::111111111111:role/sagemaker"
KEY = "arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"
IMAGE = "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:3.2-0"


def model(
    stack: cdk.Stack, isolated: bool = True, vpc: bool = False, data: str = "s3://artifacts-bucket/m/model.tar.gz"
) -> sagemaker.CfnModel:
    return sagemaker.CfnModel(
        stack,
        "Model",
        execution_role_arn=ROLE,
        primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(image=IMAGE, model_data_url=data),
        enable_network_isolation=isolated,
        vpc_config=sagemaker.CfnModel.VpcConfigProperty(subnets=["subnet-0123456789abcdef0"], security_group_ids=["sg-0123456789abcdef0"])
        if vpc
        else None,
    )


def endpoint_config(
    stack: cdk.Stack, key: bool = True, capture_key: bool = True, instance_type: str = "ml.m5.large"
) -> sagemaker.CfnEndpointConfig:
    return sagemaker.CfnEndpointConfig(
        stack,
        "Config",
        production_variants=[
            sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                variant_name="primary", model_name="m", instance_type=instance_type, initial_instance_count=2
            )
        ],
        kms_key_id=KEY if key else None,
        data_capture_config=sagemaker.CfnEndpointConfig.DataCaptureConfigProperty(
            initial_sampling_percentage=10,
            destination_s3_uri="s3://capture/",
            capture_options=[sagemaker.CfnEndpointConfig.CaptureOptionProperty(capture_mode="Input")],
            kms_key_id=KEY if capture_key else None,
        ),
    )


def endpoint(stack: cdk.Stack, config: sagemaker.CfnEndpointConfig, rollback: bool = True) -> sagemaker.CfnEndpoint:
    return sagemaker.CfnEndpoint(
        stack,
        "Endpoint",
        endpoint_name="ep",
        endpoint_config_name=config.attr_endpoint_config_name,
        deployment_config=sagemaker.CfnEndpoint.DeploymentConfigProperty(
            auto_rollback_configuration=sagemaker.CfnEndpoint.AutoRollbackConfigProperty(
                alarms=[sagemaker.CfnEndpoint.AlarmProperty(alarm_name="ep-5xx")]
            ),
            blue_green_update_policy=sagemaker.CfnEndpoint.BlueGreenUpdatePolicyProperty(
                traffic_routing_configuration=sagemaker.CfnEndpoint.TrafficRoutingConfigProperty(type="ALL_AT_ONCE")
            ),
        )
        if rollback
        else None,
    )


def scaled(stack: cdk.Stack, instance_type: str, min_capacity: int) -> None:
    config = endpoint_config(stack, instance_type=instance_type)
    endpoint(stack, config)
    appscaling.CfnScalableTarget(
        stack,
        "Target",
        service_namespace="sagemaker",
        resource_id="endpoint/ep/variant/primary",
        scalable_dimension="sagemaker:variant:DesiredInstanceCount",
        min_capacity=min_capacity,
        max_capacity=4,
    )


def state_machine(stack: cdk.Stack, definition: dict) -> None:
    sfn.CfnStateMachine(stack, "Machine", role_arn=ROLE, definition_string=json.dumps(definition))


def training(**overrides: object) -> dict:
    arguments = {
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 30, "VolumeKmsKeyId": KEY},
        "OutputDataConfig": {"S3OutputPath": "s3://artifacts-bucket/jobs/", "KmsKeyId": KEY},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "EnableNetworkIsolation": True,
    } | overrides
    task = {"Type": "Task", "Resource": "arn:aws:states:::sagemaker:createTrainingJob.sync", "Parameters": arguments, "End": True}
    return {"StartAt": "Train", "States": {"Train": task}}


def transform(timeout: bool = True, **overrides: object) -> dict:
    arguments = {
        "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeKmsKeyId": KEY},
        "TransformOutput": {"S3OutputPath": "s3://batch/out/", "KmsKeyId": KEY},
    } | overrides
    task = {"Type": "Task", "Resource": "arn:aws:states:::sagemaker:createTransformJob.sync", "Parameters": arguments, "End": True}
    return {"StartAt": "Transform", "States": {"Transform": task}} | ({"TimeoutSeconds": 3600} if timeout else {})


def artifact_bucket(stack: cdk.Stack, versioned: bool) -> None:
    model(stack)
    s3.CfnBucket(
        stack,
        "Artifacts",
        bucket_name="artifacts-bucket",
        versioning_configuration=s3.CfnBucket.VersioningConfigurationProperty(status="Enabled") if versioned else None,
    )


def acknowledged(stack: cdk.Stack, reason: str) -> None:
    cdk.Validations.of(model(stack)).acknowledge(cdk.Acknowledgment(id="SageMaker::SageMaker-ModelVpc", reason=reason))


def escape_hatch(stack: cdk.Stack) -> None:
    model(stack).add_property_override("EnableNetworkIsolation", False)


@dataclass(frozen=True)
class Case:
    rule: str
    breaks: Callable[[cdk.Stack], object]
    follows: Callable[[cdk.Stack], object]
    options: CheckOptions = field(default_factory=CheckOptions)


CASES = {
    "model-isolation": Case("SageMaker-ModelNetworkIsolation", lambda s: model(s, isolated=False), model),
    "model-isolation-escape-hatch": Case("SageMaker-ModelNetworkIsolation", escape_hatch, model),
    "model-vpc": Case("SageMaker-ModelVpc", model, lambda s: model(s, vpc=True), CheckOptions(require_vpc=True)),
    "config-kms": Case("SageMaker-EndpointConfigKms", lambda s: endpoint_config(s, key=False), endpoint_config),
    "capture-kms": Case("SageMaker-EndpointConfigKms", lambda s: endpoint_config(s, capture_key=False), endpoint_config),
    "rollback": Case(
        "SageMaker-EndpointAutoRollback",
        lambda s: endpoint(s, endpoint_config(s), rollback=False),
        lambda s: endpoint(s, endpoint_config(s)),
    ),
    "burstable": Case("SageMaker-AutoscalingInstance", lambda s: scaled(s, "ml.t2.medium", 1), lambda s: scaled(s, "ml.m5.large", 1)),
    "production-min": Case(
        "SageMaker-AutoscalingInstance",
        lambda s: scaled(s, "ml.m5.large", 1),
        lambda s: scaled(s, "ml.m5.large", 2),
        CheckOptions(production=True),
    ),
    "training-kms": Case(
        "SageMaker-TrainingJobSecurity",
        lambda s: state_machine(s, training(ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 30})),
        lambda s: state_machine(s, training()),
    ),
    "training-isolation": Case(
        "SageMaker-TrainingJobSecurity",
        lambda s: state_machine(s, training(EnableNetworkIsolation=False)),
        lambda s: state_machine(s, training(**{"EnableNetworkIsolation.$": "$.isolated"})),
    ),
    "training-runtime": Case(
        "SageMaker-TrainingJobSecurity", lambda s: state_machine(s, training(StoppingCondition={})), lambda s: state_machine(s, training())
    ),
    "transform-kms": Case(
        "SageMaker-TransformJobSecurity",
        lambda s: state_machine(s, transform(TransformOutput={"S3OutputPath": "s3://batch/out/"})),
        lambda s: state_machine(s, transform()),
    ),
    "transform-timeout": Case(
        "SageMaker-TransformJobSecurity", lambda s: state_machine(s, transform(timeout=False)), lambda s: state_machine(s, transform())
    ),
    "artifact-versioning": Case(
        "SageMaker-ArtifactBucketVersioning", lambda s: artifact_bucket(s, False), lambda s: artifact_bucket(s, True)
    ),
    "acknowledgment-reason": Case(
        "SageMaker-AcknowledgmentReason",
        lambda s: acknowledged(s, "  "),
        lambda s: acknowledged(s, "Models of this team run in the platform's shared VPC-less account."),
    ),
}


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Every case's breaking and following stack, synthesized in one app: stack name → template path."""
    app = cdk.App(outdir=str(tmp_path_factory.mktemp("checks")))
    for name, case in CASES.items():
        case.breaks(cdk.Stack(app, f"{name}-breaks", env=ENV))
        case.follows(cdk.Stack(app, f"{name}-follows", env=ENV))
    assembly = app.synth()
    return {stack.stack_name: str(Path(assembly.directory) / stack.template_file) for stack in assembly.stacks}


@pytest.mark.parametrize("name", CASES)
def test_rule_fails_on_a_stack_that_breaks_it_and_passes_on_one_that_follows_it(name: str, templates: dict[str, str]) -> None:
    case = CASES[name]
    broken = {f.rule for f in check(load([templates[f"{name}-breaks"]]), case.options)}
    followed = {f.rule for f in check(load([templates[f"{name}-follows"]]), case.options)}
    assert case.rule in broken
    assert followed == set()


def test_every_rule_is_tested_and_explained() -> None:
    assert {case.rule for case in CASES.values()} == set(RULES)
    for rule in RULES.values():
        assert rule.explanation.endswith(".")
        assert rule.fix


def test_the_project_passes_the_pack(synthesized: dict[str, SynthesizedEnvironment]) -> None:
    for environment in synthesized.values():
        paths = [str(stack.template_path) for stack in environment.stacks.values()]
        options = CheckOptions(production=environment.config.production)
        assert check(load(paths), options) == []


def test_applied_to_a_stage_a_non_isolated_model_fails_synth_and_says_what_to_fix(tmp_path: Path) -> None:
    app = cdk.App(outdir=str(tmp_path))
    stage = cdk.Stage(app, "team", env=ENV)
    model(cdk.Stack(stage, "Serving"), isolated=False)
    cdk.Validations.of(stage).add_plugins(SageMakerChecks())
    with pytest.raises(RuntimeError, match=r"Suggested fix: Set EnableNetworkIsolation: true on AWS::SageMaker::Model"):
        app.synth()
    (report,) = json.loads((tmp_path / "validation-report.json").read_text())["pluginReports"]
    (violation,) = report["violations"]
    assert violation["ruleName"] == "SageMaker-ModelNetworkIsolation"
    assert violation["suggestedFix"] == "Set EnableNetworkIsolation: true on AWS::SageMaker::Model (HostedModel does)."
    assert violation["violatingConstructs"][0]["constructPath"] == "team/Serving/Model"


def test_an_acknowledgment_with_a_reason_lets_synth_pass(tmp_path: Path) -> None:
    app = cdk.App(outdir=str(tmp_path))
    stage = cdk.Stage(app, "team", env=ENV)
    isolated = model(cdk.Stack(stage, "Serving"), isolated=False)
    cdk.Validations.of(isolated).acknowledge(
        cdk.Acknowledgment(id="SageMaker::SageMaker-ModelNetworkIsolation", reason="Pulls features from the team's feature store at start.")
    )
    cdk.Validations.of(stage).add_plugins(SageMakerChecks())
    app.synth()
    (report,) = json.loads((tmp_path / "validation-report.json").read_text())["pluginReports"]
    assert report["violations"] == []
    assert report["suppressedViolations"][0]["reason"] == "Pulls features from the team's feature store at start."
