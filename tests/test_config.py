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


def test_instance_type_must_be_an_ml_instance(tmp_path: Path) -> None:
    config = dev_config()
    config["training"]["instance_type"] = "m5.xlarge"
    message = error_for(tmp_path, config)
    assert "training.instance_type = 'm5.xlarge': allowed: a SageMaker instance type of the form ml.<family>.<size>" in message


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
    assert "training.schedule.expression = 'every monday': allowed: an EventBridge schedule" in error_for(tmp_path, config)


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
