"""The SageMaker rule pack: each rule fails on a minimal stack that breaks it and passes on one
that follows it, reading the synthesized templates (so escape hatches are caught too). Where a
rule needs a value, the cases reach it through each form of CloudFormation reference (generated
names, Fn::Join, Fn::Sub, Fn::GetAtt, Fn::Select/Fn::Split, exports, CDK's cross-stack
references), and a reference the pack cannot follow must be reported, not passed."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks

from ml_constructs.cfn_references import (
    NO_VALUE,
    Attribute,
    Deployment,
    Parameter,
    PhysicalName,
    Pseudo,
    Resolver,
    Text,
    Unresolved,
    json_document,
)
from ml_constructs.sagemaker_checks import RULES, CheckOptions, SageMakerChecks, check, load
from tests.conftest import SynthesizedEnvironment

ENV = cdk.Environment(account="111111111111", region="eu-west-1")


def probe_app(outdir: Path) -> cdk.App:
    """An app for the pack's probe stacks, without CDK's built-in CloudFormation validation (seconds
    per synth; the project turns it off too, and the pack is what these tests exercise)."""
    return cdk.App(outdir=str(outdir), builtin_cloud_formation_validation=False)


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


def endpoint(
    stack: cdk.Stack, config: sagemaker.CfnEndpointConfig, rollback: bool = True, name: str | None = "ep"
) -> sagemaker.CfnEndpoint:
    return sagemaker.CfnEndpoint(
        stack,
        "Endpoint",
        endpoint_name=name,
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


def scaled(stack: cdk.Stack, instance_type: str, min_capacity: int) -> appscaling.CfnScalableTarget:
    config = endpoint_config(stack, instance_type=instance_type)
    endpoint(stack, config)
    return appscaling.CfnScalableTarget(
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


def processing(**overrides: object) -> dict:
    arguments = {
        "ProcessingResources": {
            "ClusterConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 20, "VolumeKmsKeyId": KEY}
        },
        "ProcessingOutputConfig": {"Outputs": [], "KmsKeyId": KEY},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "NetworkConfig": {"EnableNetworkIsolation": True},
    } | overrides
    task = {"Type": "Task", "Resource": "arn:aws:states:::sagemaker:createProcessingJob.sync", "Arguments": arguments, "End": True}
    return {"QueryLanguage": "JSONata", "StartAt": "Baseline", "States": {"Baseline": task}}


def monitoring_job(stack: cdk.Stack, **overrides: object) -> cdk.CfnResource:
    """A data-quality job definition as CloudFormation reads it; overrides by dotted path (None removes)."""
    definition = cdk.CfnResource(
        stack,
        "DataQuality",
        type="AWS::SageMaker::DataQualityJobDefinition",
        properties={
            "DataQualityAppSpecification": {"ImageUri": "468650794304.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-model-monitor-analyzer"},
            "DataQualityJobInput": {"EndpointInput": {"EndpointName": "ep", "LocalPath": "/opt/ml/processing/input/endpoint"}},
            "DataQualityJobOutputConfig": {
                "KmsKeyId": KEY,
                "MonitoringOutputs": [{"S3Output": {"LocalPath": "/opt/ml/processing/output", "S3Uri": "s3://reports/dq/"}}],
            },
            "JobResources": {
                "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 20, "VolumeKmsKeyId": KEY}
            },
            "NetworkConfig": {"EnableNetworkIsolation": True},
            "StoppingCondition": {"MaxRuntimeInSeconds": 1800},
            "RoleArn": ROLE,
        },
    )
    for path, value in overrides.items():
        if value is None:
            definition.add_property_deletion_override(path)
        else:
            definition.add_property_override(path, value)
    return definition


def artifact_bucket(stack: cdk.Stack, versioned: bool) -> None:
    model(stack)
    s3.CfnBucket(
        stack,
        "Artifacts",
        bucket_name="artifacts-bucket",
        versioning_configuration=s3.CfnBucket.VersioningConfigurationProperty(status="Enabled") if versioned else None,
    )


# --- buckets with generated names, reached through each form of reference ------------------------


def versioning(versioned: bool) -> s3.CfnBucket.VersioningConfigurationProperty | None:
    return s3.CfnBucket.VersioningConfigurationProperty(status="Enabled") if versioned else None


def generated_bucket(stack: cdk.Stack, versioned: bool) -> s3.CfnBucket:
    """A bucket without a name: CloudFormation generates one (CDK's recommended default)."""
    bucket = s3.CfnBucket(stack, "Artifacts", versioning_configuration=versioning(versioned))
    bucket.override_logical_id("Artifacts")
    return bucket


def sibling(stack: cdk.Stack, role: str) -> cdk.Stack:
    """A second stack beside the case's (as the Data stack is beside the stacks that use its buckets)."""
    return cdk.Stack(stack.node.scope, f"{stack.node.id}-{role}", env=ENV)


def artifact_through(reference: Callable[[s3.CfnBucket], str]) -> Callable[[cdk.Stack, bool], None]:
    """A model whose artifact lies in a generated-name bucket, its URI built by ``reference``."""

    def build(stack: cdk.Stack, versioned: bool) -> None:
        model(stack, data=reference(generated_bucket(stack, versioned)))

    return build


def exported_artifact(stack: cdk.Stack, versioned: bool) -> None:
    """A hand-written export in one stack, Fn::ImportValue in the other."""
    data = sibling(stack, "data")
    export = f"{stack.node.id}-artifact-bucket"
    cdk.CfnOutput(data, "ArtifactBucket", value=generated_bucket(data, versioned).ref, export_name=export)
    model(stack, data=cdk.Fn.join("", ["s3://", cdk.Fn.import_value(export), "/m/model.tar.gz"]))


def cross_stack_artifact(stack: cdk.Stack, versioned: bool) -> None:
    """CDK's own cross-stack reference: an L2 bucket of one stack used in another."""
    bucket = s3.Bucket(sibling(stack, "data"), "Artifacts", versioned=versioned)
    model(stack, data=f"s3://{bucket.bucket_name}/m/model.tar.gz")


def parameter_artifact(stack: cdk.Stack) -> None:
    """A bucket named by a template parameter: only the deployment knows which."""
    model(stack, data=f"s3://{cdk.CfnParameter(stack, 'ArtifactBucket').value_as_string}/m/model.tar.gz")


def training_job_task(stack: cdk.Stack, bucket: s3.IBucket) -> tasks.SageMakerCreateTrainingJob:
    key = kms.Key(stack, "Key")
    return tasks.SageMakerCreateTrainingJob(
        stack,
        "Train",
        training_job_name="job",
        algorithm_specification=tasks.AlgorithmSpecification(training_image=tasks.DockerImage.from_registry(IMAGE)),
        input_data_config=[
            tasks.Channel(
                channel_name="train",
                data_source=tasks.DataSource(s3_data_source=tasks.S3DataSource(s3_location=tasks.S3Location.from_bucket(bucket, "train/"))),
            )
        ],
        output_data_config=tasks.OutputDataConfig(s3_output_location=tasks.S3Location.from_bucket(bucket, "jobs/"), encryption_key=key),
        resource_config=tasks.ResourceConfig(
            instance_count=1, instance_type=ec2.InstanceType("m5.large"), volume_size=cdk.Size.gibibytes(30), volume_encryption_key=key
        ),
        enable_network_isolation=True,
    )


def training_output(stack: cdk.Stack, versioned: bool) -> None:
    """CDK's L2 training task writing to an L2 bucket of another stack (path-style https URL)."""
    bucket = s3.Bucket(sibling(stack, "data"), "Artifacts", versioned=versioned)
    sfn.StateMachine(stack, "Pipeline", definition_body=sfn.DefinitionBody.from_chainable(training_job_task(stack, bucket)))


def substituted_output(stack: cdk.Stack, versioned: bool) -> None:
    """The bucket put into the definition by DefinitionSubstitutions."""
    definition = training(OutputDataConfig={"S3OutputPath": "s3://${ArtifactBucket}/jobs/", "KmsKeyId": KEY})
    sfn.CfnStateMachine(
        stack,
        "Machine",
        role_arn=ROLE,
        definition_string=json.dumps(definition),
        definition_substitutions={"ArtifactBucket": generated_bucket(stack, versioned).ref},
    )


def object_definition_output(stack: cdk.Stack, versioned: bool) -> None:
    """A Definition object (not a string) with an intrinsic inside."""
    bucket = generated_bucket(stack, versioned)
    output = {"S3OutputPath": cdk.Fn.sub("s3://${Bucket}/jobs/", {"Bucket": bucket.ref}), "KmsKeyId": KEY}
    sfn.CfnStateMachine(stack, "Machine", role_arn=ROLE, definition=training(OutputDataConfig=output))


def jsonata_output(stack: cdk.Stack, versioned: bool) -> None:
    """The bucket referenced inside a JSONata expression that builds the output path at run time."""
    bucket = generated_bucket(stack, versioned)
    path = "{% 's3://" + bucket.ref + "/jobs/' & $states.context.Execution.Name & '/' %}"
    definition = training(OutputDataConfig={"S3OutputPath": path, "KmsKeyId": KEY})
    task = definition["States"]["Train"]
    task["Arguments"] = task.pop("Parameters")
    state_machine(stack, definition | {"QueryLanguage": "JSONata"})


def spliced_isolation(stack: cdk.Stack, value: str) -> None:
    """EnableNetworkIsolation spliced into the definition string by a CloudFormation reference."""
    text = json.dumps(training(EnableNetworkIsolation="@@isolation@@")).replace('"@@isolation@@"', value)
    sfn.CfnStateMachine(stack, "Machine", role_arn=ROLE, definition_string=text)


def isolation_from_parameter(stack: cdk.Stack) -> None:
    spliced_isolation(stack, cdk.CfnParameter(stack, "Isolated", type="String").value_as_string)


def isolation_from_mapping(stack: cdk.Stack) -> None:
    cdk.CfnMapping(stack, "Flags", mapping={"training": {"isolated": True}})
    spliced_isolation(stack, cdk.Fn.find_in_map("Flags", "training", "isolated"))


def generated_endpoint(stack: cdk.Stack, instance_type: str) -> sagemaker.CfnEndpoint:
    """An endpoint and config without names (generated ones)."""
    config = endpoint_config(stack, instance_type=instance_type)
    return endpoint(stack, config, name=None)


def scaling_target(stack: cdk.Stack, resource_id: str, min_capacity: int = 1) -> appscaling.CfnScalableTarget:
    return appscaling.CfnScalableTarget(
        stack,
        "Target",
        service_namespace="sagemaker",
        resource_id=resource_id,
        scalable_dimension="sagemaker:variant:DesiredInstanceCount",
        min_capacity=min_capacity,
        max_capacity=4,
    )


def scaled_generated(stack: cdk.Stack, instance_type: str) -> None:
    scaling_target(stack, f"endpoint/{generated_endpoint(stack, instance_type).attr_endpoint_name}/variant/primary")


def scaled_across_stacks(stack: cdk.Stack, instance_type: str) -> None:
    """The scalable target in another stack than the endpoint (an import of its generated name)."""
    name = generated_endpoint(stack, instance_type).attr_endpoint_name
    scaling_target(sibling(stack, "scaling"), f"endpoint/{name}/variant/primary")


def min_capacity_string(stack: cdk.Stack, value: str) -> None:
    # CloudFormation takes an Integer property as a string too.
    scaled(stack, "ml.m5.large", 2).add_property_override("MinCapacity", value)


def config_key_from(stack: cdk.Stack, key: str) -> None:
    endpoint_config(stack).add_property_override("KmsKeyId", key)


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
    "processing-kms": Case(
        "SageMaker-ProcessingJobSecurity",
        lambda s: state_machine(s, processing(ProcessingOutputConfig={"Outputs": []})),
        lambda s: state_machine(s, processing()),
    ),
    "processing-isolation": Case(
        "SageMaker-ProcessingJobSecurity",
        lambda s: state_machine(s, processing(NetworkConfig={"EnableInterContainerTrafficEncryption": True})),
        lambda s: state_machine(s, processing(NetworkConfig={"EnableNetworkIsolation": "{% $isolated %}"})),
    ),
    "processing-runtime": Case(
        "SageMaker-ProcessingJobSecurity",
        lambda s: state_machine(s, processing(StoppingCondition={})),
        lambda s: state_machine(s, processing()),
    ),
    "monitoring-volume-kms": Case(
        "SageMaker-MonitoringJobSecurity",
        lambda s: monitoring_job(s, **{"JobResources.ClusterConfig.VolumeKmsKeyId": None}),
        monitoring_job,
    ),
    "monitoring-output-kms": Case(
        "SageMaker-MonitoringJobSecurity",
        lambda s: monitoring_job(s, **{"DataQualityJobOutputConfig.KmsKeyId": None}),
        monitoring_job,
    ),
    "monitoring-isolation": Case(
        "SageMaker-MonitoringJobSecurity",
        lambda s: monitoring_job(s, **{"NetworkConfig.EnableNetworkIsolation": False}),
        lambda s: monitoring_job(s, **{"NetworkConfig.EnableNetworkIsolation": "true"}),
    ),
    "monitoring-runtime": Case(
        "SageMaker-MonitoringJobSecurity", lambda s: monitoring_job(s, **{"StoppingCondition": None}), monitoring_job
    ),
    "artifact-versioning": Case(
        "SageMaker-ArtifactBucketVersioning", lambda s: artifact_bucket(s, False), lambda s: artifact_bucket(s, True)
    ),
    # Which bucket holds the artifact, through each form of reference to a generated name.
    "artifact-ref-join": Case(
        "SageMaker-ArtifactBucketVersioning",
        lambda s: artifact_through(lambda b: f"s3://{b.ref}/m/model.tar.gz")(s, False),
        lambda s: artifact_through(lambda b: f"s3://{b.ref}/m/model.tar.gz")(s, True),
    ),
    "artifact-sub": Case(
        "SageMaker-ArtifactBucketVersioning",
        lambda s: artifact_through(lambda _: cdk.Fn.sub("s3://${Artifacts}/m/model.tar.gz"))(s, False),
        lambda s: artifact_through(lambda _: cdk.Fn.sub("s3://${Artifacts}/m/model.tar.gz"))(s, True),
    ),
    "artifact-sub-variables": Case(
        "SageMaker-ArtifactBucketVersioning",
        lambda s: artifact_through(lambda b: cdk.Fn.sub("s3://${B}/m/model.tar.gz", {"B": b.ref}))(s, False),
        lambda s: artifact_through(lambda b: cdk.Fn.sub("s3://${B}/m/model.tar.gz", {"B": b.ref}))(s, True),
    ),
    "artifact-getatt-arn": Case(
        "SageMaker-ArtifactBucketVersioning",
        lambda s: artifact_through(lambda b: f"s3://{cdk.Fn.select(5, cdk.Fn.split(':', b.attr_arn))}/m/model.tar.gz")(s, False),
        lambda s: artifact_through(lambda b: f"s3://{cdk.Fn.select(5, cdk.Fn.split(':', b.attr_arn))}/m/model.tar.gz")(s, True),
    ),
    "artifact-getatt-domain": Case(
        "SageMaker-ArtifactBucketVersioning",
        lambda s: artifact_through(lambda b: f"https://{b.attr_regional_domain_name}/m/model.tar.gz")(s, False),
        lambda s: artifact_through(lambda b: f"https://{b.attr_regional_domain_name}/m/model.tar.gz")(s, True),
    ),
    "artifact-import-value": Case(
        "SageMaker-ArtifactBucketVersioning", lambda s: exported_artifact(s, False), lambda s: exported_artifact(s, True)
    ),
    "artifact-cross-stack": Case(
        "SageMaker-ArtifactBucketVersioning", lambda s: cross_stack_artifact(s, False), lambda s: cross_stack_artifact(s, True)
    ),
    "artifact-parameter": Case(
        "SageMaker-ArtifactBucketVersioning",
        parameter_artifact,
        # A literal name no template declares: a bucket outside the app, not the pack's to check.
        lambda s: model(s, data="s3://bucket-of-another-app/m/model.tar.gz"),
    ),
    "training-output-l2": Case(
        "SageMaker-ArtifactBucketVersioning", lambda s: training_output(s, False), lambda s: training_output(s, True)
    ),
    "training-output-substitutions": Case(
        "SageMaker-ArtifactBucketVersioning", lambda s: substituted_output(s, False), lambda s: substituted_output(s, True)
    ),
    "training-output-definition-object": Case(
        "SageMaker-ArtifactBucketVersioning", lambda s: object_definition_output(s, False), lambda s: object_definition_output(s, True)
    ),
    "training-output-jsonata": Case(
        "SageMaker-ArtifactBucketVersioning", lambda s: jsonata_output(s, False), lambda s: jsonata_output(s, True)
    ),
    # The other rules, where a reference stands for the value they judge.
    "model-isolation-reference": Case(
        "SageMaker-ModelNetworkIsolation",
        lambda s: model(s).add_property_override("EnableNetworkIsolation", cdk.CfnParameter(s, "Isolated").value_as_string),
        lambda s: model(s).add_property_override("EnableNetworkIsolation", "true"),
    ),
    "config-kms-no-value": Case(
        "SageMaker-EndpointConfigKms",
        lambda s: config_key_from(s, cdk.Aws.NO_VALUE),
        lambda s: config_key_from(s, kms.Key(sibling(s, "data"), "Key").key_arn),
    ),
    "burstable-generated-name": Case(
        "SageMaker-AutoscalingInstance", lambda s: scaled_generated(s, "ml.t2.medium"), lambda s: scaled_generated(s, "ml.m5.large")
    ),
    "burstable-cross-stack": Case(
        "SageMaker-AutoscalingInstance", lambda s: scaled_across_stacks(s, "ml.t2.medium"), lambda s: scaled_across_stacks(s, "ml.m5.large")
    ),
    "production-min-string": Case(
        "SageMaker-AutoscalingInstance",
        lambda s: min_capacity_string(s, "1"),
        lambda s: min_capacity_string(s, "2"),
        CheckOptions(production=True),
    ),
    "training-isolation-reference": Case("SageMaker-TrainingJobSecurity", isolation_from_parameter, isolation_from_mapping),
    "training-definition-object": Case(
        "SageMaker-TrainingJobSecurity",
        lambda s: sfn.CfnStateMachine(s, "Machine", role_arn=ROLE, definition=training(StoppingCondition={})),
        lambda s: sfn.CfnStateMachine(s, "Machine", role_arn=ROLE, definition=training()),
    ),
    "acknowledgment-reason": Case(
        "SageMaker-AcknowledgmentReason",
        lambda s: acknowledged(s, "  "),
        lambda s: acknowledged(s, "Models of this team run in the platform's shared VPC-less account."),
    ),
}


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """Every case's breaking and following stacks, synthesized in one app: "<case>-breaks" and
    "<case>-follows" → the template paths of the stacks each built (a case may add stacks beside
    its own, for cross-stack references)."""
    app = probe_app(tmp_path_factory.mktemp("checks"))
    built: dict[str, list[cdk.Stack]] = {}
    for name, case in CASES.items():
        for variant, build in (("breaks", case.breaks), ("follows", case.follows)):
            before = set(app.node.children)
            build(cdk.Stack(app, f"{name}-{variant}", env=ENV))
            built[f"{name}-{variant}"] = [c for c in app.node.children if c not in before and isinstance(c, cdk.Stack)]
    assembly = app.synth()
    return {key: [assembly.get_stack_by_name(s.stack_name).template_full_path for s in stacks] for key, stacks in built.items()}


@pytest.mark.parametrize("name", CASES)
def test_rule_fails_on_a_stack_that_breaks_it_and_passes_on_one_that_follows_it(name: str, templates: dict[str, list[str]]) -> None:
    case = CASES[name]
    broken = {f.rule for f in check(load(templates[f"{name}-breaks"]), case.options)}
    followed = {f.rule for f in check(load(templates[f"{name}-follows"]), case.options)}
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
    app = probe_app(tmp_path)
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
    app = probe_app(tmp_path)
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


def test_a_bucket_reached_across_stacks_is_found_in_the_stack_that_declares_it(templates: dict[str, list[str]]) -> None:
    data_template, model_template = sorted(templates["artifact-cross-stack-breaks"], key=lambda p: "data" not in p)
    (finding,) = check(load([model_template, data_template]))
    assert (finding.template_path, finding.logical_id.startswith("Artifacts")) == (data_template, True)
    assert finding.location == "Properties/VersioningConfiguration"


def test_a_bucket_only_a_deployment_can_name_is_reported_with_the_reason(templates: dict[str, list[str]]) -> None:
    (finding,) = check(load(templates["artifact-parameter-breaks"]))
    assert finding.logical_id == "Model"
    assert finding.location.startswith("Properties/PrimaryContainer/ModelDataUrl: cannot tell the bucket (<parameter ArtifactBucket")


def test_an_import_that_no_template_exports_fails_synth_and_names_the_export(tmp_path: Path) -> None:
    app = probe_app(tmp_path)
    stage = cdk.Stage(app, "team", env=ENV)
    shared = cdk.Fn.join("", ["s3://", cdk.Fn.import_value("shared-models-bucket"), "/m/model.tar.gz"])
    model(cdk.Stack(stage, "Serving"), data=shared)
    cdk.Validations.of(stage).add_plugins(SageMakerChecks())
    with pytest.raises(RuntimeError, match="SageMaker-ArtifactBucketVersioning"):
        app.synth()
    (report,) = json.loads((tmp_path / "validation-report.json").read_text())["pluginReports"]
    (violation,) = report["violations"]
    (construct,) = violation["violatingConstructs"]
    assert construct["constructPath"] == "team/Serving/Model"
    (where,) = construct["cloudFormationResource"]["propertyPaths"]
    assert where == (
        "Properties/PrimaryContainer/ModelDataUrl: "
        "cannot tell the bucket (Fn::ImportValue 'shared-models-bucket': no template here exports it)"
    )


# --- the resolver the pack reads templates with (ml_constructs.cfn_references) ------------------

BUCKETS = {
    "Parameters": {"Name": {"Type": "String"}},
    "Mappings": {"Flags": {"training": {"isolated": True}}},
    "Resources": {
        "Named": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": {"Fn::Sub": "models-${AWS::AccountId}"}}},
        "Unnamed": {"Type": "AWS::S3::Bucket"},
        "Topic": {"Type": "AWS::SNS::Topic"},
    },
    "Outputs": {"Bucket": {"Value": {"Ref": "Unnamed"}, "Export": {"Name": {"Fn::Sub": "${AWS::StackName}-bucket"}}}},
}
UNNAMED = PhysicalName("data", "Unnamed")


def resolve(value: object, deployments: dict[str, Deployment] | None = None, **others: dict) -> object:
    return Resolver({"data": BUCKETS} | {"other": {"Resources": {}}} | others, deployments).value(value, "data")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"Ref": "Unnamed"}, Text.of(UNNAMED)),
        ({"Ref": "Named"}, Text.of("models-", Pseudo("AWS::AccountId"))),
        ({"Ref": "Name"}, Text.of(Parameter("data", "Name"))),
        ({"Ref": "Topic"}, Text.of(Attribute("data", "Topic", "Ref"))),
        ({"Fn::GetAtt": ["Unnamed", "Arn"]}, Text.of("arn:", Pseudo("AWS::Partition"), ":s3:::", UNNAMED)),
        ({"Fn::GetAtt": "Unnamed.Arn"}, Text.of("arn:", Pseudo("AWS::Partition"), ":s3:::", UNNAMED)),
        ({"Fn::Join": ["/", ["s3:/", {"Ref": "Unnamed"}, "m"]]}, Text.of("s3://", UNNAMED, "/m")),
        ({"Fn::Sub": "s3://${Unnamed}/${!Literal}"}, Text.of("s3://", UNNAMED, "/${Literal}")),
        ({"Fn::Sub": ["s3://${B}/m", {"B": {"Ref": "Unnamed"}}]}, Text.of("s3://", UNNAMED, "/m")),
        ({"Fn::Select": [5, {"Fn::Split": [":", {"Fn::GetAtt": ["Unnamed", "Arn"]}]}]}, Text.of(UNNAMED)),
        ({"Fn::Select": ["1", ["a", "b"]]}, "b"),
        ({"Fn::FindInMap": ["Flags", "training", "isolated"]}, True),
        ({"Fn::ImportValue": "<generated name of data>-bucket"}, None),  # an export name has no symbol in it
        ({"A": {"Ref": "AWS::NoValue"}, "B": [1, {"Ref": "AWS::NoValue"}]}, {"B": [1]}),
    ],
)
def test_references_resolve_as_cloudformation_resolves_them(value: object, expected: object) -> None:
    resolved = resolve(value)
    assert resolved == expected if expected is not None else isinstance(resolved, Unresolved)


def test_the_manifest_fixes_account_region_and_stack_name() -> None:
    deployments = {
        "data": Deployment("team-Data", "111111111111", "eu-west-1"),
        "other": Deployment("team-Other", "111111111111", "eu-west-1"),
    }
    assert resolve({"Ref": "Named"}, deployments) == "models-111111111111"
    assert resolve({"Fn::Sub": "${AWS::Region}/${AWS::StackName}"}, deployments) == "eu-west-1/team-Data"
    importing = Resolver({"data": BUCKETS, "other": {"Resources": {}}}, deployments)
    assert importing.value({"Fn::ImportValue": "team-Data-bucket"}, "other") == Text.of(UNNAMED)
    assert importing.value({"Fn::GetStackOutput": {"StackName": "team-Data", "OutputName": "Bucket"}}, "other") == Text.of(UNNAMED)
    elsewhere = deployments | {"other": Deployment("team-Other", "222222222222", "eu-west-1")}
    assert isinstance(
        Resolver({"data": BUCKETS, "other": {"Resources": {}}}, elsewhere).value({"Fn::ImportValue": "team-Data-bucket"}, "other"),
        Unresolved,
    )


def test_what_cannot_be_followed_says_why_and_is_never_equal_to_another_unknown() -> None:
    condition = resolve({"Fn::If": ["IsProd", "a", "b"]})
    assert isinstance(condition, Unresolved)
    assert "Fn::If" in condition.reason
    assert resolve({"Fn::If": ["IsProd", "a", "b"]}) != condition
    split = resolve({"Fn::Select": [1, {"Fn::Split": ["/", {"Ref": "Name"}]}]})
    assert isinstance(split, Unresolved)
    assert split.reason == "<parameter Name of data> may contain '/', so Fn::Split cannot tell its pieces"
    assert isinstance(resolve({"Ref": "Missing"}), Unresolved)


def test_a_definition_string_keeps_each_reference_where_it_stands() -> None:
    bucket, flag = Attribute("s", "B", "Ref"), Parameter("s", "Isolated")
    document = json_document(Text.of('{"Path": "s3://', bucket, '/jobs/", "Isolated": ', flag, "}"))
    assert document == {"Path": Text.of("s3://", bucket, "/jobs/"), "Isolated": Text.of(flag)}
    assert isinstance(json_document(Text.of('{"Path": ')), Unresolved)
    assert NO_VALUE not in resolve([{"Ref": "AWS::NoValue"}])  # type: ignore[operator]
