"""Bad configuration fails with one message naming the file, field, value and what is allowed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from config import ConfigError, available_environments, load_environment
from config.loader import CONFIG_DIR
from ml_constructs import aws_models
from ml_constructs.aws_facts import s3_names, schedules
from ml_constructs.images import all_xgboost_regions

PROJECT_DIR = Path(__file__).resolve().parents[1]


def write_config(directory: Path, name: str, content: dict[str, Any] | str) -> Path:
    path = directory / f"{name}.yaml"
    path.write_text(content if isinstance(content, str) else yaml.safe_dump(content))
    return path


def dev_config() -> dict[str, Any]:
    return yaml.safe_load((CONFIG_DIR / "dev.yaml").read_text())


def error_for(tmp_path: Path, content: dict[str, Any] | str, name: str = "dev") -> str:
    write_config(tmp_path, name, content)
    with pytest.raises(ConfigError) as caught:
        load_environment(name, config_dir=tmp_path)
    return str(caught.value)


def test_shipped_environments_load() -> None:
    assert available_environments() == ["dev", "prod"]
    dev, prod = load_environment("dev"), load_environment("prod")
    assert (dev.data.retain, prod.data.retain) == (False, True)
    assert (dev.termination_protection, prod.termination_protection) == (False, True)
    assert dev.training.spot.enabled
    assert not prod.training.spot.enabled


def test_unknown_key_names_the_typo_and_suggests_the_field(tmp_path: Path) -> None:
    config = dev_config()
    config["training"]["instance_typ"] = config["training"].pop("instance_type")
    message = error_for(tmp_path, config)
    assert "dev.yaml: training.instance_typ is not a known field (did you mean 'instance_type'?)" in message
    assert "training.instance_type is required but missing" in message


def test_malformed_account_id(tmp_path: Path) -> None:
    config = dev_config() | {"account": "12345"}
    message = error_for(tmp_path, config)
    assert "dev.yaml: account = '12345': allowed: a 12-digit AWS account id in quotes" in message


def test_unquoted_account_id_is_rejected_rather_than_misread(tmp_path: Path) -> None:
    message = error_for(tmp_path, dev_config() | {"account": 123456789012})
    assert "account = 123456789012: must be a quoted string" in message


def test_unknown_region(tmp_path: Path) -> None:
    message = error_for(tmp_path, dev_config() | {"region": "eu-middle-9"})
    assert "dev.yaml: region = 'eu-middle-9': allowed: an AWS region where SageMaker's XGBoost container is published" in message
    assert "eu-west-1" in message


def test_missing_required_field(tmp_path: Path) -> None:
    config = dev_config()
    del config["data"]["retain"]
    message = error_for(tmp_path, config)
    assert message.endswith(
        "dev.yaml: data.retain is required but missing (keep buckets and key when the stack is deleted (required true in production))"
    )


def test_number_out_of_range(tmp_path: Path) -> None:
    config = dev_config()
    config["training"]["instance_count"] = 0
    message = error_for(tmp_path, config)
    assert "dev.yaml: training.instance_count = 0: allowed: greater than or equal to 1" in message


@pytest.mark.parametrize(
    ("section", "value", "expected"),
    [
        ("training", "m5.xlarge", "allowed: a SageMaker training instance type (botocore's SageMaker TrainingInstanceType"),
        # No such SageMaker size, though EC2 has m5.8xlarge: the family's sizes are listed.
        (
            "training",
            "ml.m5.8xlarge",
            "(ml.m5 comes in ml.m5.large, ml.m5.xlarge, ml.m5.2xlarge, ml.m5.4xlarge, ml.m5.12xlarge, ml.m5.24xlarge)",
        ),
        ("variant", "ml.m5.huge", "allowed: a SageMaker endpoint instance type (botocore's SageMaker ProductionVariantInstanceType"),
        ("batch", "ml.t2.medium", "ml.t2.medium is offered for endpoint only"),
        ("training", "ml.m55.xlarge", "did you mean 'ml.m5.xlarge'"),
    ],
)
def test_each_instance_type_is_checked_against_its_own_botocore_enum(tmp_path: Path, section: str, value: str, expected: str) -> None:
    config = dev_config()
    where = {"training": config["training"], "variant": config["inference"]["variant"], "batch": config["batch"]}[section]
    where["instance_type"] = value
    field = {"variant": "inference.variant"}.get(section, section)
    message = error_for(tmp_path, config)
    assert f"dev.yaml: {field}.instance_type = {value!r}: " in message
    assert expected in message
    assert "\n" not in message


def test_instance_type_enums_are_botocores() -> None:
    import botocore.session

    model = botocore.session.get_session().get_service_model("sagemaker")
    for use, shape in aws_models.INSTANCE_TYPE_SHAPES.items():
        assert set(aws_models.instance_types(use)) == set(model.shape_for(shape).enum)
    # The three differ: a type valid for one use is not always valid for another.
    assert "ml.t2.medium" in aws_models.instance_types("endpoint")
    assert "ml.t2.medium" not in aws_models.instance_types("transform")


def test_invalid_yaml_names_line_and_column(tmp_path: Path) -> None:
    message = error_for(tmp_path, "account: '111111111111'\nregion: [eu-west-1\n")
    assert message.startswith(f"{tmp_path}/dev.yaml: not valid YAML at line 3, column 1:")


def test_a_file_that_is_not_a_mapping(tmp_path: Path) -> None:
    assert "expected a mapping of fields" in error_for(tmp_path, "- just\n- a list\n")


def test_unknown_environment_lists_the_known_ones(tmp_path: Path) -> None:
    write_config(tmp_path, "dev", dev_config())
    with pytest.raises(ConfigError, match=r"unknown environment 'staging'; allowed: dev \(one file per environment"):
        load_environment("staging", config_dir=tmp_path)


def test_production_must_retain_data(tmp_path: Path) -> None:
    config = dev_config() | {"production": True, "termination_protection": True}
    message = error_for(tmp_path, config)
    assert "data.retain = False: allowed: true when production is true" in message


def test_spot_wait_shorter_than_runtime(tmp_path: Path) -> None:
    config = dev_config()
    config["training"]["spot"] = {"enabled": True, "max_wait_seconds": 60}
    assert "training.spot.max_wait_seconds = 60: allowed: at least training.max_runtime_seconds (3600)" in error_for(tmp_path, config)


def test_input_mode_is_file_or_fast_file(tmp_path: Path) -> None:
    config = dev_config()
    config["training"]["input_mode"] = "Pipe"
    assert error_for(tmp_path, config).endswith("dev.yaml: training.input_mode = 'Pipe': allowed: 'File' or 'FastFile'")
    assert load_environment("dev").training.input_mode == "File"


def test_input_modes_are_ones_sagemaker_knows() -> None:
    from typing import get_args

    from config import schema

    offered = get_args(schema.TrainingConfig.model_fields["input_mode"].annotation)
    assert set(offered) <= set(aws_models.shape("sagemaker", "TrainingInputMode")["enum"])


def test_production_encrypts_the_traffic_between_training_instances(tmp_path: Path) -> None:
    config = yaml.safe_load((CONFIG_DIR / "prod.yaml").read_text())
    config["training"]["inter_container_traffic_encryption"] = False
    assert error_for(tmp_path, config, "prod").endswith(
        "prod.yaml: training.inter_container_traffic_encryption = False: allowed: true when production is true"
    )
    assert load_environment("prod").training.inter_container_traffic_encryption


def test_unknown_framework_version_lists_the_known_ones(tmp_path: Path) -> None:
    config = dev_config()
    config["training"]["framework_version"] = "9.9-9"
    message = error_for(tmp_path, config)
    assert "training.framework_version = '9.9-9': allowed: a SageMaker XGBoost script-mode container version: 1.2-1," in message


def test_quality_threshold_outside_probability_range(tmp_path: Path) -> None:
    config = dev_config()
    config["training"]["quality_gate"] = {"metric": "validation:auc", "threshold": 1.5}
    assert "quality_gate.threshold = 1.5: allowed: 0 to 1 for validation:auc" in error_for(tmp_path, config)


def test_bad_schedule_expression(tmp_path: Path) -> None:
    config = dev_config()
    config["training"]["schedule"] = {"expression": "every monday", "dataset": "training/latest/"}
    assert "training.schedule.expression = 'every monday': allowed: an EventBridge schedule, rate(" in error_for(tmp_path, config)


def test_schedule_dataset_must_be_a_training_folder(tmp_path: Path) -> None:
    config = dev_config()
    config["training"]["schedule"] = {"expression": "rate(7 days)", "dataset": "latest"}
    assert "training.schedule.dataset = 'latest': allowed: a dataset folder under training/" in error_for(tmp_path, config)


def test_bad_notification_email(tmp_path: Path) -> None:
    config = dev_config() | {"notifications": {"emails": ["not-an-address"]}}
    assert "notifications.emails.0 = 'not-an-address': allowed: an e-mail address" in error_for(tmp_path, config)


def test_bad_permissions_boundary_arn(tmp_path: Path) -> None:
    message = error_for(tmp_path, dev_config() | {"permissions_boundary_arn": "team-boundary"})
    assert "permissions_boundary_arn = 'team-boundary': allowed: an IAM managed policy ARN" in message


@pytest.mark.parametrize(
    ("selection", "expected"),
    [("staging", "error: unknown environment 'staging'; allowed: dev, prod")],
)
def test_app_exits_2_with_the_message_and_no_traceback(selection: str, expected: str) -> None:
    """What `cdk synth -c env=staging` runs: the app, with the CLI's context in the environment."""
    env = os.environ | {"CDK_CONTEXT_JSON": json.dumps({"env": selection}), "CDK_OUTDIR": "/nonexistent"}
    result = subprocess.run([sys.executable, "app.py"], cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2
    assert result.stderr.startswith(expected)
    assert "Traceback" not in result.stderr
    assert "jsii" not in result.stderr


# --- inference -----------------------------------------------------------------------------


def inference_error(tmp_path: Path, name: str = "dev", **inference: Any) -> str:
    config = yaml.safe_load((CONFIG_DIR / f"{name}.yaml").read_text())
    config["inference"] = config["inference"] | inference
    return error_for(tmp_path, config, name)


def test_model_needs_exactly_one_source(tmp_path: Path) -> None:
    both = {
        "artifact_key": "training-jobs/j/output/model.tar.gz",
        "model_package_arn": "arn:aws:sagemaker:eu-west-1:111111111111:model-package/g/1",
        "features": 30,
    }
    assert "allowed: exactly one of model_package_arn or artifact_key" in inference_error(tmp_path, model=both)
    assert "allowed: exactly one of model_package_arn or artifact_key" in inference_error(tmp_path, model={"features": 30})


def test_model_package_from_another_region(tmp_path: Path) -> None:
    arn = "arn:aws:sagemaker:us-east-1:111111111111:model-package/mlops-dev-xgboost/3"
    message = inference_error(tmp_path, model={"model_package_arn": arn, "features": 30})
    assert f"inference.model.model_package_arn = '{arn}': allowed: a package in this environment's region (eu-west-1)" in message


def test_artifact_key_outside_training_jobs(tmp_path: Path) -> None:
    message = inference_error(tmp_path, model={"artifact_key": "models/m.tar.gz", "features": 30})
    assert "inference.model.artifact_key = 'models/m.tar.gz': allowed: the key of a trained model" in message


def test_initial_count_outside_autoscaling_bounds(tmp_path: Path) -> None:
    message = inference_error(tmp_path, variant={"instance_type": "ml.m5.large", "initial_instance_count": 5})
    assert message.endswith(
        "dev.yaml: inference.variant.initial_instance_count = 5: allowed: between autoscaling.min_capacity (1) and max_capacity (2)"
    )


def test_burstable_instances_cannot_autoscale(tmp_path: Path) -> None:
    message = inference_error(tmp_path, variant={"instance_type": "ml.t2.medium", "initial_instance_count": 1})
    assert "inference.variant.instance_type = 'ml.t2.medium': allowed: a non-burstable type (not ml.t*) when autoscaling" in message


def test_burstable_instances_are_fine_without_autoscaling(tmp_path: Path) -> None:
    config = dev_config()
    config["inference"] |= {"variant": {"instance_type": "ml.t2.medium"}, "autoscaling": {"enabled": False, "max_rps_per_instance": 5}}
    write_config(tmp_path, "dev", config)
    assert load_environment("dev", config_dir=tmp_path).inference.variant.instance_type == "ml.t2.medium"  # type: ignore[union-attr]


def test_production_needs_two_instances(tmp_path: Path) -> None:
    message = inference_error(
        tmp_path,
        "prod",
        variant={"instance_type": "ml.m5.xlarge", "initial_instance_count": 1},
        autoscaling={"enabled": False, "max_rps_per_instance": 1},
    )
    assert message.endswith(
        "prod.yaml: inference: allowed: at least 2 instances (initial_instance_count and autoscaling.min_capacity) "
        "when production is true, so that one instance can fail; got 1"
    )


def test_serverless_excludes_autoscaling(tmp_path: Path) -> None:
    message = inference_error(tmp_path, variant=None, serverless={"memory_size_mb": 2048})
    assert "inference.autoscaling: allowed: only with variant (serverless endpoints scale by themselves)" in message


def test_serverless_excludes_data_capture(tmp_path: Path) -> None:
    message = inference_error(tmp_path, variant=None, serverless={"memory_size_mb": 2048}, autoscaling=None)
    assert "inference.data_capture.enabled = True: allowed: false with serverless" in message


def test_serverless_memory_size(tmp_path: Path) -> None:
    message = inference_error(tmp_path, variant=None, serverless={"memory_size_mb": 1000}, autoscaling=None)
    assert "inference.serverless.memory_size_mb = 1000: allowed: 1024, 2048, 3072, 4096, 5120 or 6144" in message


def test_unknown_deployment_strategy(tmp_path: Path) -> None:
    message = inference_error(tmp_path, deployment={"strategy": "rolling"})
    assert "inference.deployment.strategy = 'rolling': allowed: 'all_at_once', 'canary' or 'linear'" in message


def test_sampling_percentage_out_of_range(tmp_path: Path) -> None:
    message = inference_error(tmp_path, data_capture={"enabled": True, "sampling_percentage": 150})
    assert "inference.data_capture.sampling_percentage = 150: allowed: less than or equal to 100" in message


def test_autoscaling_target_follows_aws_sizing_guidance() -> None:
    scaling = load_environment("prod").inference.autoscaling  # type: ignore[union-attr]
    assert scaling.target_invocations_per_instance == 40 * 0.5 * 60  # type: ignore[union-attr]


def test_loading_config_does_not_start_jsii() -> None:
    """Config errors come back in well under a second: nothing imports aws_cdk on the way."""
    code = "import sys; from config import load_environment; load_environment('dev'); print('aws_cdk' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "False"


# --- batch ---------------------------------------------------------------------------------


def batch_error(tmp_path: Path, **batch: Any) -> str:
    config = dev_config()
    config["batch"] = config["batch"] | batch
    return error_for(tmp_path, config)


def test_batch_instance_count_below_one(tmp_path: Path) -> None:
    assert "batch.instance_count = 0: allowed: greater than or equal to 1" in batch_error(tmp_path, instance_count=0)


def test_batch_payload_outside_sagemakers_range(tmp_path: Path) -> None:
    assert "batch.max_payload_mb = 200: allowed: less than or equal to 100" in batch_error(tmp_path, max_payload_mb=200)


def test_batch_payload_budget_per_instance(tmp_path: Path) -> None:
    message = batch_error(tmp_path, max_payload_mb=30, max_concurrent_transforms=4)
    assert "batch.max_concurrent_transforms x batch.max_payload_mb = 120: allowed: at most 100" in message


def test_batch_says_whether_input_carries_the_label(tmp_path: Path) -> None:
    config = dev_config()
    del config["batch"]["input_has_label"]
    assert "batch.input_has_label is required but missing" in error_for(tmp_path, config)


def test_batch_column_filter_follows_the_label_flag(tmp_path: Path) -> None:
    config = dev_config()
    config["batch"]["input_has_label"] = False
    write_config(tmp_path, "dev", config)
    batch = load_environment("dev", config_dir=tmp_path).batch
    assert batch is not None
    assert batch.input_filter == "$"
    assert load_environment("dev").batch.input_filter == "$[1:]"  # type: ignore[union-attr]


def test_served_version_names_its_feature_count(tmp_path: Path) -> None:
    config = dev_config()
    del config["inference"]["model"]["features"]
    assert "inference.model.features is required but missing" in error_for(tmp_path, config)
    config["inference"]["model"]["features"] = 0
    assert "inference.model.features = 0: allowed: greater than or equal to 1" in error_for(tmp_path, config)


def test_batch_schedule_input_must_be_an_input_set(tmp_path: Path) -> None:
    message = batch_error(tmp_path, schedule={"expression": "rate(1 day)", "input": "output/x/"})
    assert "batch.schedule.input = 'output/x/': allowed: an input set folder under input/" in message


def test_batch_needs_a_model(tmp_path: Path) -> None:
    config = dev_config()
    del config["inference"]["model"]
    message = error_for(tmp_path, config)
    assert "batch: allowed only with inference.model set" in message


# --- monitoring ------------------------------------------------------------------------------


def test_datapoints_cannot_exceed_evaluation_periods(tmp_path: Path) -> None:
    config = dev_config()
    config["monitoring"]["endpoint"] |= {"evaluation_periods": 3, "datapoints_to_alarm": 5}
    assert "monitoring.endpoint.datapoints_to_alarm = 5: allowed: at most evaluation_periods (3)" in error_for(tmp_path, config)


def test_runbook_url_must_be_https(tmp_path: Path) -> None:
    config = dev_config()
    config["monitoring"]["runbook_url"] = "http://wiki/README.md"
    assert "monitoring.runbook_url = 'http://wiki/README.md': allowed: an https:// URL without a #fragment" in error_for(tmp_path, config)


def test_threshold_percent_out_of_range(tmp_path: Path) -> None:
    config = dev_config()
    config["monitoring"]["endpoint"]["cpu_percent_per_core"] = 120
    assert "monitoring.endpoint.cpu_percent_per_core = 120: allowed: less than or equal to 100" in error_for(tmp_path, config)


def test_monitoring_is_required(tmp_path: Path) -> None:
    config = dev_config()
    del config["monitoring"]
    assert "dev.yaml: monitoring is required but missing" in error_for(tmp_path, config)


def test_registry_cannot_be_shared_with_its_own_account(tmp_path: Path) -> None:
    config = dev_config() | {"registry": {"shared_with_accounts": ["111111111111"]}}
    assert "registry.shared_with_accounts = ['111111111111']: allowed: other accounts than 111111111111" in error_for(tmp_path, config)


# --- AWS's rules: schedules, limits, names ----------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("cron(0 3 * * MON *)", "allowed: '?' in exactly one of day-of-month and day-of-week"),
        ("cron(0 3 ? * ? *)", "allowed: '?' in exactly one of day-of-month and day-of-week"),
        ("rate(1 days)", "allowed: rate(1 day): the unit is singular for 1"),
        ("rate(2 day)", "allowed: rate(2 days): the unit is plural above 1"),
        ("rate(0 minutes)", "allowed: a rate value of at least 1"),
        ("rate(5 weeks)", "allowed: rate(<positive whole number> <minute|minutes|hour|hours|day|days>)"),
        ("cron(0 3 * * *)", "six fields separated by one space, got 5"),
        ("cron(0 24 ? * MON *)", "hours '24': allowed values are 0-23"),
        ("cron(0 3 ? * MON-FUN *)", "day-of-week 'MON-FUN': allowed values are 1-7 or SUN-SAT"),
        ("cron(0/0 3 ? * MON *)", "minutes '0/0': the step after '/' must be a whole number of at least 1"),
        ("cron(0 3 ? * MON 1969)", "year '1969': allowed values are 1970-2199"),
        ("at(2027-01-01T00:00:00)", "allowed: an EventBridge schedule, rate(<n> <unit>), cron(<6 fields>)"),
    ],
)
def test_eventbridge_refuses_these_schedules_and_so_does_synth(tmp_path: Path, expression: str, expected: str) -> None:
    config = dev_config()
    config["training"]["schedule"] = {"expression": expression, "dataset": "training/latest/"}
    message = error_for(tmp_path, config)
    assert message.startswith(f"{tmp_path}/dev.yaml: training.schedule.expression = {expression!r}: ")
    assert expected in message


@pytest.mark.parametrize(
    "expression",
    [
        "cron(0 3 ? * MON *)",
        "cron(0 2 * * ? *)",
        "cron(*/15 8-18 ? * MON-FRI *)",
        "cron(0 3 L * ? *)",
        "cron(0 3 ? * 6L *)",
        "cron(0 3 ? * 2#1 2027-2030)",
        "cron(0 3 15W JAN,JUL ? *)",
        "rate(1 hour)",
        "rate(7 days)",
    ],
)
def test_schedules_eventbridge_documents_are_accepted(expression: str) -> None:
    assert schedules.check_schedule(expression) == expression


def test_scheduled_scaling_also_takes_a_one_time_at_expression(tmp_path: Path) -> None:
    config = yaml.safe_load((CONFIG_DIR / "prod.yaml").read_text())
    actions = config["inference"]["autoscaling"]["scheduled"]
    actions[0]["schedule"] = "at(2027-01-04T07:00:00)"
    write_config(tmp_path, "prod", config)
    assert load_environment("prod", tmp_path).inference.autoscaling.scheduled[0].schedule == "at(2027-01-04T07:00:00)"  # type: ignore[union-attr]
    actions[0]["schedule"] = "at(2027-02-30T07:00:00)"
    assert "allowed: at(yyyy-mm-ddThh:mm:ss), a real date and time in UTC" in error_for(tmp_path, config, "prod")


def test_the_schedule_grammar_is_the_one_botocore_documents() -> None:
    """The hand-written grammar follows PutScheduledAction's documentation; a change there fails here."""
    documentation = aws_models.member_documentation("application-autoscaling", "PutScheduledActionRequest", "Schedule")
    assert (
        "The cron format consists of six fields separated by white spaces: [Minutes] [Hours] [Day_of_Month] [Month] [Day_of_Week] [Year]."
        in documentation
    )
    assert "value is a positive integer and unit is minute | minutes | hour | hours | day | days" in documentation
    assert [field.name for field in schedules.CRON_FIELDS] == ["minutes", "hours", "day-of-month", "month", "day-of-week", "year"]
    assert aws_models.shape("events", "ScheduleExpression") == {"type": "string", "max": 256}, "still no grammar in the model"


def deployment_error(tmp_path: Path, **deployment: Any) -> str:
    config = yaml.safe_load((CONFIG_DIR / "prod.yaml").read_text())
    config["inference"]["deployment"] = config["inference"]["deployment"] | deployment
    return error_for(tmp_path, config, "prod")


def test_deployment_guardrail_limits_are_botocores(tmp_path: Path) -> None:
    routing = "TrafficRoutingConfig"
    assert "must be less than or equal to 50% of the variant's total instance count" in aws_models.member_documentation(
        "sagemaker", routing, "CanarySize"
    )
    assert "must be 10-50% of the variant's total instance count" in aws_models.member_documentation("sagemaker", routing, "LinearStepSize")
    assert "should be larger than the total waiting time" in aws_models.member_documentation(
        "sagemaker", "BlueGreenUpdatePolicy", "MaximumExecutionTimeoutInSeconds"
    )
    assert "inference.deployment.canary_percent = 60: allowed: less than or equal to 50" in deployment_error(tmp_path, canary_percent=60)
    message = deployment_error(tmp_path, strategy="linear", linear_step_percent=5)
    assert "inference.deployment.linear_step_percent = 5: allowed: greater than or equal to 10" in message


def test_the_deployment_timeout_must_outlast_its_waits(tmp_path: Path) -> None:
    message = deployment_error(tmp_path, strategy="linear", linear_step_percent=20, wait_interval_seconds=600, termination_wait_seconds=600)
    assert message.endswith(
        "prod.yaml: inference.deployment.maximum_execution_timeout_seconds = 3600: allowed: more than the deployment's waits, "
        "5 x wait_interval_seconds (600) + termination_wait_seconds (600) = 3600 (linear)"
    )


def test_config_limits_lie_within_botocores() -> None:
    """Each numeric field's range is inside the range of the request member it becomes."""
    from config import schema

    fields = {
        (schema.TrainingConfig, "instance_count"): ("sagemaker", "TrainingInstanceCount"),
        (schema.TrainingConfig, "volume_size_gb"): ("sagemaker", "VolumeSizeInGB"),
        (schema.TrainingConfig, "max_runtime_seconds"): ("sagemaker", "MaxRuntimeInSeconds"),
        (schema.SpotTraining, "max_wait_seconds"): ("sagemaker", "MaxWaitTimeInSeconds"),
        (schema.VariantConfig, "initial_instance_count"): ("sagemaker", "InitialTaskCount"),
        (schema.ServerlessConfig, "max_concurrency"): ("sagemaker", "ServerlessMaxConcurrency"),
        (schema.DataCaptureConfig, "sampling_percentage"): ("sagemaker", "SamplingPercentage"),
        (schema.DeploymentConfig, "wait_interval_seconds"): ("sagemaker", "WaitIntervalInSeconds"),
        (schema.DeploymentConfig, "termination_wait_seconds"): ("sagemaker", "TerminationWaitInSeconds"),
        (schema.DeploymentConfig, "maximum_execution_timeout_seconds"): ("sagemaker", "MaximumExecutionTimeoutInSeconds"),
        (schema.DeploymentConfig, "canary_percent"): ("sagemaker", "CapacitySizeValue"),
        (schema.BatchConfig, "instance_count"): ("sagemaker", "TransformInstanceCount"),
        (schema.BatchConfig, "max_payload_mb"): ("sagemaker", "MaxPayloadInMB"),
        (schema.BatchConfig, "max_concurrent_transforms"): ("sagemaker", "MaxConcurrentTransforms"),
        (schema.BatchConfig, "invocation_timeout_seconds"): ("sagemaker", "InvocationsTimeoutInSeconds"),
        (schema.BatchConfig, "invocation_max_retries"): ("sagemaker", "InvocationsMaxRetries"),
    }
    for (model, name), (service, shape_name) in fields.items():
        shape = aws_models.shape(service, shape_name)
        metadata = model.model_fields[name].metadata
        low = next(rule.ge for rule in metadata if getattr(rule, "ge", None) is not None)
        high = next(rule.le for rule in metadata if getattr(rule, "le", None) is not None)
        assert shape.get("min", low) <= low <= high <= shape.get("max", high), (model.__name__, name, shape)


def test_autoscaling_minimum_above_maximum(tmp_path: Path) -> None:
    message = inference_error(tmp_path, autoscaling={"min_capacity": 3, "max_capacity": 2, "max_rps_per_instance": 20})
    assert message.endswith("dev.yaml: inference.autoscaling.min_capacity = 3: allowed: at most inference.autoscaling.max_capacity (2)")


def test_a_scheduled_action_must_not_take_production_below_its_minimum(tmp_path: Path) -> None:
    config = yaml.safe_load((CONFIG_DIR / "prod.yaml").read_text())
    config["inference"]["autoscaling"]["scheduled"][1]["min_capacity"] = 1
    message = error_for(tmp_path, config, "prod")
    assert message.endswith(
        "prod.yaml: inference.autoscaling.scheduled[nights].min_capacity = 1: allowed: at least 2 when production is true "
        "(the scheduled action would take production below its own minimum)"
    )


def test_scheduled_actions_are_named_once(tmp_path: Path) -> None:
    config = yaml.safe_load((CONFIG_DIR / "prod.yaml").read_text())
    config["inference"]["autoscaling"]["scheduled"][1]["name"] = "business-hours"
    assert "inference.autoscaling.scheduled: allowed: each name once; repeated: business-hours" in error_for(tmp_path, config, "prod")


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("notifications", "emails"), ["ml-team@example.com", "ML-Team@example.com"]),
        (("monitoring", "alarm_emails"), ["ml-team@example.com", "ml-team@example.com"]),
        (("registry", "shared_with_accounts"), ["222222222222", "222222222222"]),
    ],
)
def test_a_value_listed_twice_is_one_message_not_a_traceback(tmp_path: Path, path: tuple[str, str], value: list[str]) -> None:
    config = dev_config()
    config[path[0]][path[1]] = value
    message = error_for(tmp_path, config)
    assert message.endswith(f"dev.yaml: {'.'.join(path)} = {value!r}: allowed: each value once; repeated: {value[1]!r}")


@pytest.mark.parametrize(
    ("prefix", "rule"),
    [
        ("xn--team", "bucket names must not start with the prefix 'xn--'"),
        ("sthree-ml", "bucket names must not start with the prefix 'sthree-'"),
    ],
)
def test_a_prefix_that_builds_a_bucket_name_s3_refuses(tmp_path: Path, prefix: str, rule: str) -> None:
    message = error_for(tmp_path, dev_config() | {"prefix": prefix})
    assert message.endswith(f"dev.yaml: prefix = {prefix!r}: the data bucket would be named '{prefix}-data-111111111111-eu-west-1': {rule}")


def test_the_built_names_fit_s3_and_sagemaker_at_the_longest_prefix_and_region() -> None:
    from config import schema

    longest_region = max(all_xgboost_regions(), key=len)
    config = load_environment("dev").model_copy(update={"prefix": "a" * 20, "region": longest_region})
    for name in config.bucket_names.values():
        assert s3_names.bucket_name_problem(name) is None, name
    assert aws_models.name_problem("sagemaker", "EndpointName", config.endpoint_name) is None
    assert aws_models.name_problem("sagemaker", "EntityName", schema.registry_name(config.prefix)) is None


@pytest.mark.parametrize("region", ["cn-north-1", "us-gov-west-1"])
def test_regions_of_other_partitions_are_refused(tmp_path: Path, region: str) -> None:
    message = error_for(tmp_path, dev_config() | {"region": region})
    assert f"dev.yaml: region = {region!r}: allowed: a region of the aws partition (aws-cn and aws-us-gov are not supported)" in message


# --- YAML itself, and unknown keys anywhere -------------------------------------------------


def test_a_key_repeated_in_a_mapping_is_an_error(tmp_path: Path) -> None:
    text = (CONFIG_DIR / "dev.yaml").read_text().replace("  retain: false\n", "  retain: false\n  retain: true\n")
    message = error_for(tmp_path, text)
    line = text.splitlines().index("  retain: true") + 1
    assert (
        message
        == f"{tmp_path}/dev.yaml: not valid YAML at line {line}, column 3: 'retain' appears twice in one mapping (first at line {line - 1})"
    )


@pytest.mark.parametrize(
    ("where", "typo", "field", "allowed"),
    [
        (("inference", "autoscaling"), "max_capcity", "inference.autoscaling.max_capcity", "did you mean 'max_capacity'?"),
        (("inference", "deployment"), "stratgy", "inference.deployment.stratgy", "did you mean 'strategy'?"),
        (("batch",), "instance_cont", "batch.instance_cont", "did you mean 'instance_count'?"),
        (("monitoring", "endpoint"), "p99_latncy_ms", "monitoring.endpoint.p99_latncy_ms", "did you mean 'p99_latency_ms'?"),
    ],
)
def test_an_unknown_key_in_an_optional_section_lists_what_is_allowed(
    tmp_path: Path, where: tuple[str, ...], typo: str, field: str, allowed: str
) -> None:
    config = dev_config()
    section = config
    for part in where:
        section = section.setdefault(part, {})
    section[typo] = 1
    message = error_for(tmp_path, config)
    assert f"dev.yaml: {field} is not a known field ({allowed}); allowed here: " in message


def test_an_unknown_key_in_a_list_item_lists_what_is_allowed(tmp_path: Path) -> None:
    config = yaml.safe_load((CONFIG_DIR / "prod.yaml").read_text())
    config["inference"]["autoscaling"]["scheduled"][0]["min_capacty"] = 3
    message = error_for(tmp_path, config, "prod")
    assert (
        "prod.yaml: inference.autoscaling.scheduled.0.min_capacty is not a known field (did you mean 'min_capacity'?);"
        " allowed here: name, schedule, min_capacity, max_capacity" in message
    )


# --- across files ----------------------------------------------------------------------------


def copy_config(tmp_path: Path) -> Path:
    for path in CONFIG_DIR.glob("*.yaml"):
        (tmp_path / path.name).write_text(path.read_text())
    return tmp_path


def test_two_environments_with_one_prefix_are_refused(tmp_path: Path) -> None:
    config_dir = copy_config(tmp_path)
    write_config(config_dir, "staging", dev_config() | {"account": "444444444444"})
    with pytest.raises(ConfigError) as caught:
        load_environment("staging", config_dir)
    assert str(caught.value) == (
        f"{config_dir}/staging.yaml: prefix = 'mlops-dev': allowed: a prefix no other environment uses; dev.yaml has it too "
        "(their buckets, endpoint and registry would be the same resources)"
    )


def prod_serving(tmp_path: Path, arn: str, dev_shares: list[str]) -> str:
    config_dir = copy_config(tmp_path)
    dev = dev_config()
    dev["registry"]["shared_with_accounts"] = dev_shares
    write_config(config_dir, "dev", dev)
    prod = yaml.safe_load((CONFIG_DIR / "prod.yaml").read_text())
    prod["inference"]["model"]["model_package_arn"] = arn
    write_config(config_dir, "prod", prod)
    with pytest.raises(ConfigError) as caught:
        load_environment("prod", config_dir)
    return str(caught.value)


DEV_PACKAGE = "arn:aws:sagemaker:eu-west-1:111111111111:model-package/mlops-dev-xgboost/3"


def test_serving_another_accounts_package_needs_that_registry_to_share(tmp_path: Path) -> None:
    message = prod_serving(tmp_path, DEV_PACKAGE, dev_shares=["333333333333"])
    assert message == (
        f"{tmp_path}/prod.yaml: inference.model.model_package_arn = '{DEV_PACKAGE}': allowed only when dev.yaml shares its "
        "registry with 222222222222: add '222222222222' to its registry.shared_with_accounts and deploy dev first"
    )


def test_serving_a_package_of_no_known_registry_is_refused(tmp_path: Path) -> None:
    arn = "arn:aws:sagemaker:eu-west-1:999999999999:model-package/team-models/3"
    message = prod_serving(tmp_path, arn, dev_shares=["222222222222"])
    assert message.startswith(
        f"{tmp_path}/prod.yaml: inference.model.model_package_arn = '{arn}': allowed: a package of an environment's registry"
    )
    assert "mlops-dev-xgboost in 111111111111 (dev)" in message


def test_serving_a_shared_package_loads(tmp_path: Path) -> None:
    config_dir = copy_config(tmp_path)
    prod = yaml.safe_load((CONFIG_DIR / "prod.yaml").read_text())
    prod["inference"]["model"]["model_package_arn"] = DEV_PACKAGE
    write_config(config_dir, "prod", prod)
    assert load_environment("prod", config_dir).inference.model.model_package_arn == DEV_PACKAGE  # type: ignore[union-attr]


# --- inference.api ------------------------------------------------------------------------


def api_error(tmp_path: Path, name: str = "dev", **api: Any) -> str:
    return inference_error(tmp_path, name, api=api)


def test_an_open_api_needs_its_loud_flag(tmp_path: Path) -> None:
    assert api_error(tmp_path, auth="none").endswith(
        "dev.yaml: inference.api.auth = 'none': allowed only with inference.api.open_to_anyone: true (anyone with the URL could "
        "call the model); prefer iam or api_key"
    )
    assert "allowed: iam, api_key or cognito when production is true" in api_error(tmp_path, "prod", auth="none", open_to_anyone=True)


def test_api_keys_need_clients_within_the_apis_throttle(tmp_path: Path) -> None:
    assert "inference.api.clients: allowed: at least one client with auth api_key" in api_error(tmp_path, auth="api_key")
    client = {"name": "partner-a", "quota_per_day": 1000, "throttle": {"rate_limit_rps": 80, "burst_limit": 10}}
    message = api_error(tmp_path, auth="api_key", clients=[client])
    assert message.endswith(
        "inference.api.clients[partner-a].throttle = 80 rps, burst 10: allowed: at most the API's throttle (50 rps, burst 100)"
    )


def test_api_values_aws_accepts_come_from_botocore(tmp_path: Path) -> None:
    message = api_error(tmp_path, access_log_retention_days=10)
    assert "inference.api.access_log_retention_days = 10: allowed: a CloudWatch Logs retention in days: 1, 3, 5, 7, 14, 30" in message
    assert "inference.api.waf.rate_limit = 5: allowed: 10 to 2000000000 requests" in api_error(tmp_path, waf={"rate_limit": 5})
    assert "allowed: a WAF evaluation window in seconds: 60, 120, 300, 600" in api_error(tmp_path, waf={"window_seconds": 30})


def test_an_api_waits_for_a_model(tmp_path: Path) -> None:
    """Like the endpoint it calls, the API is deployed once a model is set (promote fills model in)."""
    config = dev_config()
    del config["inference"]["model"]
    config.pop("batch")
    write_config(tmp_path, "dev", config)
    loaded = load_environment("dev", config_dir=tmp_path)
    assert loaded.inference is not None
    assert loaded.inference.api is not None
    assert not loaded.serves_a_model


# --- model monitoring -------------------------------------------------------------------------


def test_data_quality_monitoring_needs_captured_requests(tmp_path: Path) -> None:
    message = inference_error(tmp_path, data_capture={"enabled": False})
    assert "dev.yaml: monitoring.data_quality.enabled = True: allowed: only with inference.data_capture.enabled" in message


def test_a_model_package_needs_its_baseline_when_monitored(tmp_path: Path) -> None:
    config = yaml.safe_load((CONFIG_DIR / "prod.yaml").read_text())
    del config["inference"]["model"]["baseline_prefix"]
    message = error_for(tmp_path, config, "prod")
    assert "prod.yaml: inference.model.baseline_prefix: required with model_package_arn when monitoring.data_quality.enabled" in message
    assert "promoted/<group>/<version>/baseline/" in message


def test_baseline_prefix_names_a_baseline_folder(tmp_path: Path) -> None:
    config = yaml.safe_load((CONFIG_DIR / "prod.yaml").read_text())
    config["inference"]["model"]["baseline_prefix"] = "elsewhere/baseline/"
    message = error_for(tmp_path, config, "prod")
    assert "inference.model.baseline_prefix = 'elsewhere/baseline/': allowed: the folder of a version's data-quality baseline" in message


def test_monitoring_jobs_cannot_outlast_their_cadence(tmp_path: Path) -> None:
    config = dev_config()
    config["monitoring"]["data_quality"] |= {"cadence_hours": 1, "max_runtime_seconds": 3601}
    message = error_for(tmp_path, config)
    assert "monitoring.data_quality.max_runtime_seconds = 3601: allowed: at most 3600 with cadence_hours = 1" in message


def test_monitoring_cadence_is_one_sagemaker_offers(tmp_path: Path) -> None:
    config = dev_config()
    config["monitoring"]["data_quality"]["cadence_hours"] = 5
    message = error_for(tmp_path, config)
    assert "monitoring.data_quality.cadence_hours = 5" in message


def test_retraining_on_drift_needs_a_dataset(tmp_path: Path) -> None:
    config = dev_config()
    config["monitoring"]["drift"] = {"retrain": True}
    message = error_for(tmp_path, config)
    assert "monitoring.drift.dataset: required when monitoring.drift.retrain is true" in message


def test_baseline_jobs_run_on_processing_instances(tmp_path: Path) -> None:
    config = dev_config()
    config["training"]["baseline"] = {"instance_type": "ml.m5.huge"}
    message = error_for(tmp_path, config)
    assert "training.baseline.instance_type = 'ml.m5.huge': allowed: a SageMaker processing instance type" in message


def test_the_ground_truth_folder_is_one_of_its_own(tmp_path: Path) -> None:
    config = dev_config()
    config["monitoring"]["model_quality"]["ground_truth_prefix"] = "data-capture/labels/"
    message = error_for(tmp_path, config)
    assert "monitoring.model_quality.ground_truth_prefix = 'data-capture/labels/': allowed: a folder of its own, not under" in message


def test_model_quality_jobs_run_half_an_hour_at_most_on_an_hourly_schedule(tmp_path: Path) -> None:
    config = dev_config()
    config["monitoring"]["model_quality"] |= {"cadence_hours": 1, "max_runtime_seconds": 3600}
    message = error_for(tmp_path, config)
    assert "monitoring.model_quality.max_runtime_seconds = 3600: allowed: at most 1800 with cadence_hours = 1" in message
