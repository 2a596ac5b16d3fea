"""Model Monitor on each endpoint: the schedule reads the captured requests and compares them with
the baseline of the version the environment serves; a new version moves it to the new baseline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from config import EnvironmentConfig, load_environment
from ml_constructs.aws_facts.model_monitor import CADENCE_HOURS, max_runtime_seconds, schedule_expression
from ml_constructs.images import model_monitor_image
from tests.conftest import SynthesizedEnvironment, SynthesizedStack, synthesize


def only(stack: SynthesizedStack, resource_type: str) -> dict[str, Any]:
    if resource_type == "AWS::SageMaker::MonitoringSchedule":
        (schedule,) = [
            s["Properties"]
            for s in stack.resources(resource_type).values()
            if s["Properties"]["MonitoringScheduleName"].endswith("-data-quality")
        ]
        return schedule
    return stack.resource(resource_type)["Properties"]


@pytest.fixture(params=["dev", "prod"], scope="module")
def environment(request: pytest.FixtureRequest, synthesized: dict[str, SynthesizedEnvironment]) -> SynthesizedEnvironment:
    return synthesized[request.param]


def baseline_of(config: EnvironmentConfig) -> str:
    assert config.inference is not None
    assert config.inference.model is not None
    return f"s3://{config.bucket_names['models']}/{config.inference.model.baseline}"


def test_every_endpoint_has_a_data_quality_schedule(environment: SynthesizedEnvironment) -> None:
    stack = environment["Inference"]
    schedule = only(stack, "AWS::SageMaker::MonitoringSchedule")
    definition = only(stack, "AWS::SageMaker::DataQualityJobDefinition")
    prefix, endpoint = environment.config.prefix, environment.config.endpoint_name
    assert schedule["MonitoringScheduleName"] == f"{prefix}-data-quality"
    assert schedule["EndpointName"] == endpoint
    config = schedule["MonitoringScheduleConfig"]
    assert config["MonitoringType"] == "DataQuality"
    assert config["MonitoringJobDefinitionName"] == definition["JobDefinitionName"]
    assert config["ScheduleConfig"] == {"ScheduleExpression": schedule_expression(environment.config.monitoring.data_quality.cadence_hours)}
    assert definition["DataQualityJobInput"]["EndpointInput"]["EndpointName"] == endpoint
    assert definition["DataQualityAppSpecification"] == {"ImageUri": model_monitor_image(environment.config.region)[2]}


def test_the_schedule_compares_with_the_served_versions_baseline(environment: SynthesizedEnvironment) -> None:
    definition = only(environment["Inference"], "AWS::SageMaker::DataQualityJobDefinition")
    baseline = baseline_of(environment.config)
    assert definition["DataQualityBaselineConfig"] == {
        "ConstraintsResource": {"S3Uri": f"{baseline}constraints.json"},
        "StatisticsResource": {"S3Uri": f"{baseline}statistics.json"},
    }


def test_dev_reads_the_baseline_the_pipeline_wrote_beside_the_artifact(dev: SynthesizedEnvironment) -> None:
    model = dev.config.inference.model  # type: ignore[union-attr]
    job = model.artifact_key.removeprefix("training-jobs/").split("/")[0]  # type: ignore[union-attr]
    assert model.baseline == f"training-jobs/{job}/baseline/"  # type: ignore[union-attr]


def test_monitoring_jobs_are_encrypted_isolated_and_bounded(environment: SynthesizedEnvironment) -> None:
    definition = only(environment["Inference"], "AWS::SageMaker::DataQualityJobDefinition")
    config = environment.config.monitoring.data_quality
    cluster = definition["JobResources"]["ClusterConfig"]
    assert "DataKey" in str(cluster["VolumeKmsKeyId"])
    assert definition["DataQualityJobOutputConfig"]["KmsKeyId"] == cluster["VolumeKmsKeyId"]
    assert definition["NetworkConfig"] == {"EnableNetworkIsolation": True, "EnableInterContainerTrafficEncryption": True}
    assert definition["StoppingCondition"] == {"MaxRuntimeInSeconds": config.max_runtime_seconds}
    assert cluster["InstanceType"] == config.instance_type
    (output,) = definition["DataQualityJobOutputConfig"]["MonitoringOutputs"]
    assert (
        output["S3Output"]["S3Uri"]
        == f"s3://{environment.config.bucket_names['models']}/monitoring/{environment.config.prefix}-data-quality/"
    )


def with_model(name: str, **model: Any) -> EnvironmentConfig:
    config = load_environment(name).model_dump()
    config["inference"]["model"] = model
    return EnvironmentConfig.model_validate(config)


def test_a_new_model_version_moves_the_schedule_to_its_baseline(tmp_path: Path, dev: SynthesizedEnvironment) -> None:
    key = "training-jobs/mlops-dev-6b3c1f2e/output/model.tar.gz"
    new = synthesize([with_model("dev", artifact_key=key, features=30)], tmp_path)["dev"]["Inference"]
    old_definition = only(dev["Inference"], "AWS::SageMaker::DataQualityJobDefinition")
    new_definition = only(new, "AWS::SageMaker::DataQualityJobDefinition")
    assert new_definition["DataQualityBaselineConfig"]["StatisticsResource"] == {
        "S3Uri": "s3://mlops-dev-models-111111111111-eu-west-1/training-jobs/mlops-dev-6b3c1f2e/baseline/statistics.json"
    }
    # A new name (CloudFormation replaces the definition before deleting the old one), the same schedule.
    assert new_definition["JobDefinitionName"] != old_definition["JobDefinitionName"]
    new_schedule, old_schedule = (
        only(new, "AWS::SageMaker::MonitoringSchedule"),
        only(dev["Inference"], "AWS::SageMaker::MonitoringSchedule"),
    )
    assert new_schedule["MonitoringScheduleName"] == old_schedule["MonitoringScheduleName"]
    assert new_schedule["MonitoringScheduleConfig"]["MonitoringJobDefinitionName"] == new_definition["JobDefinitionName"]
    # The monitoring role may read the new baseline, and no longer the old one.
    reads = {
        str(arn)
        for resource in new.resources("AWS::IAM::Policy").values()
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]
        if statement["Action"] == "s3:GetObject"
        for arn in (statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]])
    }
    assert "arn:aws:s3:::mlops-dev-models-111111111111-eu-west-1/training-jobs/mlops-dev-6b3c1f2e/baseline/constraints.json" in reads
    assert not any("0f8fad5b" in str(resource) and "baseline" in str(resource) for resource in reads)


def test_the_schedule_waits_for_the_endpoint(environment: SynthesizedEnvironment) -> None:
    stack = environment["Inference"]
    (endpoint_id,) = stack.resources("AWS::SageMaker::Endpoint")
    schedules = stack.resources("AWS::SageMaker::MonitoringSchedule").values()
    assert schedules
    for schedule in schedules:
        assert endpoint_id in schedule["DependsOn"]


@pytest.mark.parametrize("hours", CADENCE_HOURS)
def test_every_cadence_is_an_expression_sagemaker_documents(hours: int) -> None:
    expression = schedule_expression(hours)
    assert expression.startswith("cron(0 ")
    assert expression.endswith(" ? * * *)")
    assert max_runtime_seconds(hours) == min(3600 * hours, 86400)


def test_an_undocumented_cadence_is_refused() -> None:
    with pytest.raises(ValueError, match="runs every 1, 2, 3, 4, 6, 8, 12, 24 hours; got 5"):
        schedule_expression(5)


# --- model quality, once labels arrive ---------------------------------------------------------------


def test_model_quality_only_where_a_ground_truth_folder_is_configured(synthesized: dict[str, SynthesizedEnvironment]) -> None:
    assert synthesized["dev"].config.monitoring.model_quality is not None
    assert synthesized["prod"].config.monitoring.model_quality is None
    assert not synthesized["prod"]["Inference"].resources("AWS::SageMaker::ModelQualityJobDefinition")


def test_model_quality_merges_the_captured_predictions_with_the_ground_truth(dev: SynthesizedEnvironment) -> None:
    stack = dev["Inference"]
    config = dev.config.monitoring.model_quality
    assert config is not None
    definition = only(stack, "AWS::SageMaker::ModelQualityJobDefinition")
    assert definition["ModelQualityAppSpecification"]["ProblemType"] == "BinaryClassification"
    job_input = definition["ModelQualityJobInput"]
    assert job_input["GroundTruthS3Input"] == {"S3Uri": f"s3://{dev.config.bucket_names['models']}/{config.ground_truth_prefix}"}
    endpoint = job_input["EndpointInput"]
    assert endpoint["EndpointName"] == dev.config.endpoint_name
    # The container answers one probability per row (CSV): column 0, positive at the threshold.
    assert (endpoint["ProbabilityAttribute"], endpoint["ProbabilityThresholdAttribute"]) == ("0", config.probability_threshold)
    delay, cadence = config.ground_truth_delay_hours, config.cadence_hours
    assert (endpoint["StartTimeOffset"], endpoint["EndTimeOffset"]) == (f"-PT{delay + cadence}H", f"-PT{delay}H")
    schedules = {
        s["Properties"]["MonitoringScheduleName"]: s["Properties"] for s in stack.resources("AWS::SageMaker::MonitoringSchedule").values()
    }
    schedule = schedules["mlops-dev-model-quality"]["MonitoringScheduleConfig"]
    assert schedule["MonitoringType"] == "ModelQuality"
    assert schedule["MonitoringJobDefinitionName"] == definition["JobDefinitionName"]
    assert schedule["ScheduleConfig"] == {"ScheduleExpression": schedule_expression(cadence)}
    assert definition["NetworkConfig"]["EnableNetworkIsolation"] is True
    assert "DataKey" in str(definition["JobResources"]["ClusterConfig"]["VolumeKmsKeyId"])


def test_model_quality_jobs_publish_only_model_metrics(dev: SynthesizedEnvironment) -> None:
    stack = dev["Inference"]
    namespaces = [
        statement["Condition"]["StringLike"]["cloudwatch:namespace"]
        for policy in stack.resources("AWS::IAM::Policy").values()
        if any(role["Ref"].startswith("ModelQualityRole") for role in policy["Properties"]["Roles"])
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Action"] == "cloudwatch:PutMetricData"
    ]
    assert namespaces == [["aws/sagemaker/Endpoints/model-metric*", "/aws/sagemaker/Endpoint*/model-metric*"]]


# --- the resources as SageMaker's API sees them ------------------------------------------------------

CREATE_OPERATIONS = {
    "AWS::SageMaker::DataQualityJobDefinition": "CreateDataQualityJobDefinition",
    "AWS::SageMaker::ModelQualityJobDefinition": "CreateModelQualityJobDefinition",
    "AWS::SageMaker::MonitoringSchedule": "CreateMonitoringSchedule",
}
CLOUDFORMATION_ONLY = {"EndpointName"}
"""Properties CloudFormation adds to the API's request (which endpoint a definition or schedule watches)."""


def with_placeholders(node: Any) -> Any:
    """CloudFormation references as ``<Logical.Attribute>`` / ``<import:Name>``, the way the contract tests render them."""
    if isinstance(node, dict) and len(node) == 1 and next(iter(node)) in ("Ref", "Fn::GetAtt", "Fn::ImportValue"):
        (function, argument), *_ = node.items()
        if function == "Fn::GetAtt":
            return f"<{argument[0]}.{argument[1]}>"
        return f"<import:{argument}>" if function == "Fn::ImportValue" else f"<{argument}>"
    if isinstance(node, dict) and list(node) == ["Fn::Join"]:
        separator, parts = node["Fn::Join"]
        return separator.join(str(with_placeholders(part)) for part in parts)
    if isinstance(node, dict):
        return {key: with_placeholders(value) for key, value in node.items()}
    if isinstance(node, list):
        return [with_placeholders(item) for item in node]
    return node


def test_monitoring_resources_are_requests_sagemaker_accepts(synthesized: dict[str, SynthesizedEnvironment]) -> None:
    """What CloudFormation sends SageMaker for them, with references given realistic values,
    against botocore's input shapes (members, required, types, lengths, patterns)."""
    from tests.support import botocore_contracts as bc
    from tests.test_api_contracts import contract_environment

    checked = 0
    for environment in synthesized.values():
        contracts = contract_environment(environment)
        for resource_type, operation in CREATE_OPERATIONS.items():
            for logical_id, resource in environment["Inference"].resources(resource_type).items():
                properties = contracts.substitute("Inference", with_placeholders(resource["Properties"]))
                shape = bc.service_model("sagemaker").operation_model(operation).input_shape
                assert set(properties) - set(shape.members) <= CLOUDFORMATION_ONLY, logical_id
                request = {key: value for key, value in properties.items() if key in shape.members}
                assert bc.validate_shape(shape, request) == [], f"{environment.config.name} {logical_id}"
                checked += 1
    assert checked == 6, "dev: two definitions and two schedules; prod: one of each"


JOB_DEFINITION_TYPES = ("AWS::SageMaker::DataQualityJobDefinition", "AWS::SageMaker::ModelQualityJobDefinition")


@pytest.mark.parametrize("resource_type", JOB_DEFINITION_TYPES)
def test_every_property_of_a_job_definition_is_create_only_so_its_name_follows_them(resource_type: str) -> None:
    """Why the name is made of the contents, tags included: CloudFormation's own resource schema."""
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("eu-west-1", resource_type).schema
    assert "/properties/Tags" in schema["createOnlyProperties"]
    assert schema["tagging"]["tagUpdatable"] is False
    assert "/properties/JobDefinitionName" in schema["createOnlyProperties"]


def test_a_tag_change_renames_the_job_definitions_so_cloudformation_can_replace_them(tmp_path: Path, dev: SynthesizedEnvironment) -> None:
    config = dev.config.model_copy(update={"tags": {**dev.config.tags, "cost-center": "ml-platform-2"}})
    retagged = synthesize([config], tmp_path)["dev"]["Inference"]
    for resource_type in JOB_DEFINITION_TYPES:
        (old,) = dev["Inference"].resources(resource_type).values()
        (new,) = retagged.resources(resource_type).values()
        assert old["Properties"]["Tags"] != new["Properties"]["Tags"]
        assert old["Properties"]["JobDefinitionName"] != new["Properties"]["JobDefinitionName"]


def test_each_schedule_waits_for_the_job_definition_it_names(environment: SynthesizedEnvironment) -> None:
    stack = environment["Inference"]
    definitions = {
        resource["Properties"]["JobDefinitionName"]: logical_id
        for resource_type in JOB_DEFINITION_TYPES
        for logical_id, resource in stack.resources(resource_type).items()
    }
    schedules = stack.resources("AWS::SageMaker::MonitoringSchedule").values()
    assert schedules
    for schedule in schedules:
        named = schedule["Properties"]["MonitoringScheduleConfig"]["MonitoringJobDefinitionName"]
        assert definitions[named] in schedule["DependsOn"]
