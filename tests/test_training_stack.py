"""The Training stack: roles, the gated pipeline definition, its triggers and registry."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.conftest import SynthesizedEnvironment, SynthesizedStack
from tests.support.asl import definition_of, evaluate, validate
from tests.support.iam import as_list, grants, role_of, statements_of
from training_scripts.metric_log import metric_definitions

# Actions without resource-level permissions in IAM: the only ones allowed on "*".
NO_RESOURCE_LEVEL_PERMISSIONS = {
    "cloudwatch:PutMetricData",
    "ecr:GetAuthorizationToken",
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
}
ACCOUNTS = {"dev": "111111111111", "prod": "222222222222"}


@pytest.fixture(params=["dev", "prod"], scope="module")
def training(request: pytest.FixtureRequest, synthesized: dict[str, SynthesizedEnvironment]) -> SynthesizedStack:
    return synthesized[request.param]["Training"]


@pytest.fixture(scope="module")
def dev_definition(dev: SynthesizedEnvironment) -> dict[str, Any]:
    return definition_of(dev["Training"].resource("AWS::StepFunctions::StateMachine"))


def bucket_arn(environment: str, purpose: str) -> str:
    return f"arn:aws:s3:::mlops-{environment}-{purpose}-{ACCOUNTS[environment]}-eu-west-1"


# --- IAM ---------------------------------------------------------------------------------------


def test_only_sagemaker_for_this_account_can_assume_the_job_roles(training: SynthesizedStack) -> None:
    for name in ("TrainingJobRole", "ModelRole"):
        _, role = role_of(training, name)
        (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert statement["Principal"] == {"Service": "sagemaker.amazonaws.com"}
        assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNTS[training.environment]}}


def test_training_role_reads_the_training_prefix_and_writes_job_output(training: SynthesizedStack) -> None:
    role_id, _ = role_of(training, "TrainingJobRole")
    data, models = bucket_arn(training.environment, "data"), bucket_arn(training.environment, "models")
    s3 = grants(training, role_id, "s3")
    reads = {resource for action, resource in s3 if action == "s3:GetObject"}
    writes = {resource for action, resource in s3 if action == "s3:PutObject"}
    assert writes == {resource for action, resource in s3 if action == "s3:AbortMultipartUpload"}
    spot = training.environment == "dev"
    jobs = f"mlops-{training.environment}-*"
    assert reads - {r for r in reads if "cdk-hnb659fds-assets" in r} == {f"{data}/training/*"} | (
        {f"{models}/checkpoints/{jobs}/*"} if spot else set()
    )
    assert writes == {f"{models}/training-jobs/{jobs}/output/*"} | ({f"{models}/checkpoints/{jobs}/*"} if spot else set())
    (code,) = [r for r in reads if "cdk-hnb659fds-assets" in r]
    assets_bucket = f"arn:aws:s3:::cdk-hnb659fds-assets-{ACCOUNTS[training.environment]}-eu-west-1"
    assert re.fullmatch(rf"{assets_bucket}/[0-9a-f]{{64}}\.gz", code)
    # The code channel is an S3Prefix channel: SageMaker lists it first, for that key only.
    (listing,) = [s for s in statements_of(training, role_id) if s["Action"] == "s3:ListBucket" and s["Resource"] == assets_bucket]
    assert listing["Condition"] == {
        "StringLike": {"s3:prefix": code.removeprefix(assets_bucket + "/") + "*"},
        "StringEquals": {"s3:ResourceAccount": ACCOUNTS[training.environment]},
    }


def test_model_role_only_reads_trained_artifacts(training: SynthesizedStack) -> None:
    role_id, _ = role_of(training, "ModelRole")
    models = bucket_arn(training.environment, "models")
    jobs = f"mlops-{training.environment}-*"
    assert grants(training, role_id, "s3") == {("s3:GetObject", f"{models}/training-jobs/{jobs}/output/*"), ("s3:ListBucket", models)}


def test_no_wildcard_resource_except_where_iam_has_no_resource_level_permissions(training: SynthesizedStack) -> None:
    for policy in training.resources("AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if "*" in as_list(statement["Resource"]):
                assert set(as_list(statement["Action"])) <= NO_RESOURCE_LEVEL_PERMISSIONS, statement
            for action in as_list(statement["Action"]):
                assert "*" not in action, statement


def test_pass_role_only_for_the_job_roles_and_only_to_sagemaker(training: SynthesizedStack) -> None:
    machine_role, _ = role_of(training, "PipelineMachineStateMachineRole")
    training_role, _ = role_of(training, "TrainingJobRole")
    model_role, _ = role_of(training, "ModelRole")
    baseline_role, _ = role_of(training, "BaselineJobRole")
    assert grants(training, machine_role, "iam") == {
        ("iam:PassRole", json.dumps({"Fn::GetAtt": [role, "Arn"]})) for role in (training_role, model_role, baseline_role)
    }
    every_pass = [
        s for policy in training.resources("AWS::IAM::Policy").values() for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if "iam:PassRole" in as_list(s["Action"])
    ]  # fmt: skip
    assert [s["Condition"] for s in every_pass] == [{"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}]


def test_pipeline_sagemaker_permissions_are_limited_to_the_environment_prefix(training: SynthesizedStack) -> None:
    machine_role, _ = role_of(training, "PipelineMachineStateMachineRole")
    env, account = training.environment, ACCOUNTS[training.environment]
    resources = {
        r for s in statements_of(training, machine_role) if any(a.startswith("sagemaker:") for a in as_list(s["Action"]))
        for r in as_list(s["Resource"])
    }  # fmt: skip
    base = f"arn:aws:sagemaker:eu-west-1:{account}"
    assert resources == {
        f"{base}:training-job/mlops-{env}-*",
        f"{base}:processing-job/mlops-{env}-*",
        f"{base}:model/mlops-{env}-*",
        f"{base}:model-package/mlops-{env}-xgboost/*",
        f"{base}:model-package-group/mlops-{env}-xgboost",
    }


def test_kms_use_is_limited_to_the_environment_key(training: SynthesizedStack) -> None:
    for policy in training.resources("AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if any(a.startswith("kms:") for a in as_list(statement["Action"])):
                assert "Fn::ImportValue" in statement["Resource"]
                if statement["Action"] == "kms:CreateGrant":
                    # Volumes encrypted with the key: grants for AWS resources only, never for a principal.
                    assert statement["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}
                else:
                    assert set(as_list(statement["Action"])) <= {"kms:Decrypt", "kms:GenerateDataKey"}


# --- the state machine definition ---------------------------------------------------------------


def test_definition_is_valid_asl(training: SynthesizedStack) -> None:
    assert validate(definition_of(training.resource("AWS::StepFunctions::StateMachine"))) == []


def test_the_validator_refuses_a_broken_definition(dev_definition: dict[str, Any]) -> None:
    """What the check above relies on: a dangling transition and a JSONata syntax error are found."""
    dangling = json.loads(json.dumps(dev_definition))
    dangling["States"][dangling["StartAt"]]["Next"] = "NoSuchState"
    (findings,) = validate(dangling)
    assert "MISSING_TRANSITION_TARGET" in findings, findings
    assert "NoSuchState" in findings, findings

    unparsable = json.loads(json.dumps(dev_definition))
    task = next(state for state in unparsable["States"].values() if state["Type"] == "Task" and "Arguments" in state)
    task["Arguments"] = "{% $states.input %}"
    assert validate(unparsable) == []
    task["Arguments"] = "{% $states.input. %}"
    (findings,) = validate(unparsable)
    assert "/Arguments is invalid" in findings, findings


def test_every_task_retries_throttling_and_catches_into_the_failure_notification(dev_definition: dict[str, Any]) -> None:
    tasks = {name: state for name, state in dev_definition["States"].items() if state["Type"] == "Task"}
    assert set(tasks) == {
        "ListChannels",
        "Train",
        "ExplainTrainingFailure",
        "BaselineFeatures",
        "Baseline",
        "CreateModel",
        "RegisterModel",
        "NotifySuccess",
        "NotifyFailure",
    }
    for name, state in tasks.items():
        assert state["Retry"], name
        if name == "Train":
            assert state["Catch"][0]["Next"] == "ExplainTrainingFailure"
        elif name in ("BaselineFeatures", "Baseline"):
            # The failure names the baseline step and the training job it belongs to.
            (catch,) = state["Catch"]
            assert catch["ErrorEquals"] == ["States.ALL"]
            assert catch["Next"] == "NotifyFailure"
            assert "of training job ' & $jobName" in catch["Assign"]["failure"]["Cause"]
        elif name not in ("NotifySuccess", "NotifyFailure", "ExplainTrainingFailure"):
            assert state["Catch"] == [
                {"ErrorEquals": ["States.ALL"], "Assign": {"failure": "{% $states.errorOutput %}"}, "Next": "NotifyFailure"}
            ]
    assert dev_definition["States"]["NotifyFailure"]["Next"] == "Failed"
    assert dev_definition["States"]["Failed"]["Type"] == "Fail"


def test_integrations_are_native_service_integrations(dev_definition: dict[str, Any]) -> None:
    resources = {name: s.get("Resource") for name, s in dev_definition["States"].items() if s["Type"] == "Task"}
    assert resources == {
        "ListChannels": "arn:aws:states:::aws-sdk:s3:listObjectsV2",
        "Train": "arn:aws:states:::sagemaker:createTrainingJob.sync",
        "BaselineFeatures": "arn:aws:states:::sagemaker:createProcessingJob.sync",
        "Baseline": "arn:aws:states:::sagemaker:createProcessingJob.sync",
        "CreateModel": "arn:aws:states:::sagemaker:createModel",
        "RegisterModel": "arn:aws:states:::aws-sdk:sagemaker:createModelPackage",
        "ExplainTrainingFailure": "arn:aws:states:::aws-sdk:cloudwatchlogs:filterLogEvents",
        "NotifySuccess": "arn:aws:states:::sns:publish",
        "NotifyFailure": "arn:aws:states:::sns:publish",
    }


def test_training_job_comes_from_config(synthesized: dict[str, SynthesizedEnvironment]) -> None:
    for name, environment in synthesized.items():
        config = environment.config.training
        request = definition_of(environment["Training"].resource("AWS::StepFunctions::StateMachine"))["States"]["Train"]["Arguments"]
        assert request["ResourceConfig"]["InstanceType"] == config.instance_type
        assert request["ResourceConfig"]["InstanceCount"] == config.instance_count
        assert request["ResourceConfig"]["VolumeSizeInGB"] == config.volume_size_gb
        assert request["ResourceConfig"]["VolumeKmsKeyId"].startswith("<import:")
        assert request["OutputDataConfig"] == {
            "S3OutputPath": f"s3://mlops-{name}-models-{ACCOUNTS[name]}-eu-west-1/training-jobs/",
            "KmsKeyId": request["ResourceConfig"]["VolumeKmsKeyId"],
        }
        assert request["StoppingCondition"]["MaxRuntimeInSeconds"] == config.max_runtime_seconds
        assert (
            request["AlgorithmSpecification"]["TrainingImage"]
            == f"141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:{config.framework_version}"
        )
        assert request["AlgorithmSpecification"]["MetricDefinitions"] == metric_definitions()
        hyperparameters = request["HyperParameters"]
        assert hyperparameters["eta"] == str(config.hyperparameters.eta)
        assert hyperparameters["num_round"] == str(config.hyperparameters.num_round)
        assert hyperparameters["sagemaker_program"] == "train.py"
        # SageMaker names a one-object S3Prefix channel's file after the key's last segment.
        [channels] = evaluate([(request["InputDataConfig"], {"dataset": "training/d/", "channels": ["training/d/train/"]})])
        (code_uri,) = [c["DataSource"]["S3DataSource"]["S3Uri"] for c in channels if c["ChannelName"] == "code"]
        assert hyperparameters["sagemaker_submit_directory"] == f"/opt/ml/input/data/code/{code_uri.rsplit('/', 1)[1]}"
        assert request["EnableNetworkIsolation"] is True
        assert request["EnableInterContainerTrafficEncryption"] is True
        assert request["RoleArn"].startswith("<TrainingJobRole")


def test_spot_training_with_checkpoints_in_dev_only(synthesized: dict[str, SynthesizedEnvironment]) -> None:
    dev = definition_of(synthesized["dev"]["Training"].resource("AWS::StepFunctions::StateMachine"))["States"]["Train"]["Arguments"]
    prod = definition_of(synthesized["prod"]["Training"].resource("AWS::StepFunctions::StateMachine"))["States"]["Train"]["Arguments"]
    assert dev["EnableManagedSpotTraining"] is True
    assert dev["StoppingCondition"]["MaxWaitTimeInSeconds"] == synthesized["dev"].config.training.spot.max_wait_seconds
    assert dev["CheckpointConfig"]["LocalPath"] == "/opt/ml/checkpoints"
    [checkpoint_uri] = evaluate([(dev["CheckpointConfig"]["S3Uri"], {"jobName": "mlops-dev-abc"})])
    assert checkpoint_uri == "s3://mlops-dev-models-111111111111-eu-west-1/checkpoints/mlops-dev-abc/"
    assert "EnableManagedSpotTraining" not in prod
    assert "CheckpointConfig" not in prod


# --- the definition's JSONata, evaluated ----------------------------------------------------------


def execution(name: str = "0f8fad5b-d9cb-469f-a165-70867728950e", **input_: Any) -> dict[str, Any]:
    return {"input": input_, "context": {"Execution": {"Name": name, "Id": f"arn:aws:states:::execution:x:{name}"}}}


def test_dataset_comes_from_the_marker_or_the_manual_input(dev_definition: dict[str, Any]) -> None:
    assign = dev_definition["States"]["ResolveDataset"]["Assign"]
    condition = dev_definition["States"]["CheckDataset"]["Choices"][0]["Condition"]
    marker, manual, nothing = evaluate(
        [
            (assign["dataset"], {"states": execution(marker_key="training/2026-11-01/_SUCCESS")}),
            (assign["dataset"], {"states": execution(dataset="training/latest/")}),
            (assign["dataset"], {"states": execution(other="x")}),
        ]
    )
    assert (marker, manual, nothing) == ("training/2026-11-01/", "training/latest/", "")
    accepted = evaluate(
        [(condition, {"dataset": d}) for d in ("training/2026-11-01/", "training/latest/", "", "training/", "other/x/", "training/a/b/")]
    )
    assert accepted == [True, True, False, False, False, False]


def test_job_names_are_valid_and_unique_per_execution(dev_definition: dict[str, Any]) -> None:
    job_name = dev_definition["States"]["ResolveDataset"]["Assign"]["jobName"]
    names = evaluate(
        [
            (job_name, {"states": execution()}),
            (job_name, {"states": execution(name="manual_run.2026-11-23 with spaces and a very long name that goes on and on")}),
            (job_name, {"states": execution(name="retry_")}),
            (job_name, {"states": execution(name="a" * 52 + "-b")}),  # the cut lands on the '-'
            (job_name, {"states": execution(name="x" * 80)}),
        ]
    )
    assert names[0] == "mlops-dev-0f8fad5b-d9cb-469f-a165-70867728950e"
    assert names[2] == "mlops-dev-retry"
    assert names[3] == "mlops-dev-" + "a" * 52
    for name in names:
        # SageMaker's pattern for job and model names (botocore: TrainingJobName).
        assert re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", name), name


def test_input_channels_follow_the_dataset_folders(dev_definition: dict[str, Any]) -> None:
    channels = dev_definition["States"]["Train"]["Arguments"]["InputDataConfig"]
    dataset = "training/ds1/"
    with_test, without_test = evaluate(
        [
            (channels, {"dataset": dataset, "channels": [f"{dataset}{c}/" for c in ("train", "validation", "test")]}),
            (channels, {"dataset": dataset, "channels": [f"{dataset}{c}/" for c in ("train", "validation")]}),
        ]
    )
    assert [c["ChannelName"] for c in with_test] == ["train", "validation", "test", "code"]
    assert [c["ChannelName"] for c in without_test] == ["train", "validation", "code"]
    assert with_test[0]["DataSource"]["S3DataSource"]["S3Uri"] == "s3://mlops-dev-data-111111111111-eu-west-1/training/ds1/train/"
    assert with_test[0]["ContentType"] == "text/csv"
    assert re.fullmatch(r"s3://.+/[0-9a-f]{64}\.gz", with_test[-1]["DataSource"]["S3DataSource"]["S3Uri"].replace("<", "").replace(">", ""))


def test_missing_channels_stop_the_run_with_a_clear_cause(dev_definition: dict[str, Any]) -> None:
    check = dev_definition["States"]["CheckChannels"]["Choices"][0]["Condition"]
    cause = dev_definition["States"]["MissingChannels"]["Assign"]["failure"]["Cause"]
    bindings = {"dataset": "training/ds1/", "channels": ["training/ds1/train/"]}
    passes, message = evaluate([(check, bindings), (cause, bindings)])
    assert passes is False
    assert message == (
        "Dataset s3://mlops-dev-data-111111111111-eu-west-1/training/ds1/ needs the folders train/ and validation/; "
        "found: training/ds1/train/"
    )


def test_quality_gate_compares_the_configured_metric_to_its_threshold(dev: SynthesizedEnvironment, dev_definition: dict[str, Any]) -> None:
    gate = dev.config.training.quality_gate
    condition = dev_definition["States"]["QualityGate"]["Choices"][0]["Condition"]
    cause = dev_definition["States"]["QualityGateFailed"]["Assign"]["failure"]["Cause"]

    def run(value: float | None) -> dict[str, Any]:
        metrics = [{"name": "validation:accuracy", "value": 0.99}] + ([{"name": gate.metric, "value": value}] if value is not None else [])
        return {"training": {"metrics": metrics}, "jobName": "mlops-dev-job"}

    above, at, below, missing, below_cause, missing_cause = evaluate(
        [
            (condition, run(gate.threshold + 0.1)),
            (condition, run(gate.threshold)),
            (condition, run(gate.threshold - 0.1)),
            (condition, run(None)),
            (cause, run(0.61)),
            (cause, run(None)),
        ]
    )
    assert (above, at, below, missing) == (True, True, False, False)
    assert below_cause == f"validation:auc = 0.61 is below the threshold {gate.threshold} (training job mlops-dev-job)"
    assert missing_cause == "validation:auc was not reported by training job mlops-dev-job"
    assert dev_definition["States"]["QualityGate"]["Default"] == "QualityGateFailed"
    assert dev_definition["States"]["QualityGateFailed"]["Next"] == "NotifyFailure"


def test_training_result_is_kept_for_the_gate_and_the_registry(dev_definition: dict[str, Any]) -> None:
    assign = dev_definition["States"]["Train"]["Assign"]["training"]
    result = {
        "TrainingJobName": "mlops-dev-job",
        "ModelArtifacts": {"S3ModelArtifacts": "s3://b/training-jobs/mlops-dev-job/output/model.tar.gz"},
        "FinalMetricDataList": [{"MetricName": "validation:auc", "Value": 0.97, "Timestamp": "2026-11-23T00:00:00Z"}],
    }
    [training] = evaluate([(assign, {"states": {"result": result}})])
    assert training == {
        "name": "mlops-dev-job",
        "artifact": "s3://b/training-jobs/mlops-dev-job/output/model.tar.gz",
        "metrics": [{"name": "validation:auc", "value": 0.97}],
    }


def test_registered_package_is_pending_approval_and_carries_image_artifact_and_metrics(dev_definition: dict[str, Any]) -> None:
    request = dev_definition["States"]["RegisterModel"]["Arguments"]
    assert request["ModelApprovalStatus"] == "PendingManualApproval"
    assert request["ModelPackageGroupName"] == "mlops-dev-xgboost"
    (container,) = request["InferenceSpecification"]["Containers"]
    assert container["Image"] == "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:3.2-0"
    assert container["ModelDataUrl"] == "{% $training.artifact %}"
    training = {"metrics": [{"name": "validation:auc", "value": 0.97}, {"name": "validation:f1", "value": 0.9}]}
    [metadata] = evaluate(
        [(request["CustomerMetadataProperties"], {"training": training, "jobName": "j", "dataset": "training/d/", "states": execution()})]
    )
    assert metadata["validation:auc"] == "0.97"
    assert metadata["validation:f1"] == "0.9"
    assert metadata["training_job"] == "j"
    assert all(isinstance(v, str) for v in metadata.values())


def test_notifications_carry_the_outcome(dev_definition: dict[str, Any]) -> None:
    success = dev_definition["States"]["NotifySuccess"]["Arguments"]["Message"]
    failure = dev_definition["States"]["NotifyFailure"]["Arguments"]["Message"]
    bindings = {
        "modelPackageArn": "arn:pkg/1",
        "jobName": "j",
        "dataset": "training/d/",
        "training": {"artifact": "s3://a", "metrics": [{"name": "validation:auc", "value": 0.97}]},
        "failure": {"Error": "QualityGateFailed", "Cause": "too low"},
        "states": execution(),
    }
    ok, failed = (json.loads(m) for m in evaluate([(success, bindings), (failure, bindings)]))
    assert ok["model_package"] == "arn:pkg/1"
    assert ok["metrics"] == {"validation:auc": 0.97}
    assert failed["error"] == "QualityGateFailed"
    assert failed["cause"] == "too low"
    assert failed["dataset"] == "training/d/"


# --- triggers, registry, topic ---------------------------------------------------------------------


def test_a_run_starts_per_complete_dataset_marker(training: SynthesizedStack) -> None:
    (rule,) = [r for k, r in training.resources("AWS::Events::Rule").items() if k.startswith("StartsMarker")]
    pattern = rule["Properties"]["EventPattern"]
    assert pattern["source"] == ["aws.s3"]
    assert pattern["detail-type"] == ["Object Created"]
    env = training.environment
    assert pattern["detail"] == {
        "bucket": {"name": [f"mlops-{env}-data-{ACCOUNTS[env]}-eu-west-1"]},
        "object": {"key": [{"wildcard": "training/*/_SUCCESS"}]},
    }
    (target,) = rule["Properties"]["Targets"]
    assert target["InputTransformer"] == {
        "InputPathsMap": {"detail-object-key": "$.detail.object.key"},
        "InputTemplate": '{"marker_key":<detail-object-key>}',
    }
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 21600, "MaximumRetryAttempts": 8}
    assert "Arn" in target["DeadLetterConfig"]


def test_dead_letter_queues_are_encrypted_and_tls_only(training: SynthesizedStack) -> None:
    for queue in training.resources("AWS::SQS::Queue").values():
        assert queue["Properties"]["SqsManagedSseEnabled"] is True
    for policy in training.resources("AWS::SQS::QueuePolicy").values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        assert any(s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in statements)


def test_schedule_retrains_on_the_configured_dataset_in_prod_only(synthesized: dict[str, SynthesizedEnvironment]) -> None:
    def schedules(environment: SynthesizedEnvironment) -> list[dict[str, Any]]:
        return [r for k, r in environment["Training"].resources("AWS::Events::Rule").items() if k.startswith("StartsSchedule")]

    assert schedules(synthesized["dev"]) == []
    (rule,) = schedules(synthesized["prod"])
    assert rule["Properties"]["ScheduleExpression"] == "cron(0 3 ? * MON *)"
    assert json.loads(rule["Properties"]["Targets"][0]["Input"]) == {"dataset": "training/latest/"}


def test_model_registry_per_environment_kept_in_prod(synthesized: dict[str, SynthesizedEnvironment]) -> None:
    for name, environment in synthesized.items():
        group = environment["Training"].resource("AWS::SageMaker::ModelPackageGroup")
        assert group["Properties"]["ModelPackageGroupName"] == f"mlops-{name}-xgboost"
        assert group["DeletionPolicy"] == ("Retain" if name == "prod" else "Delete")


def test_notification_topic_is_encrypted_tls_only_and_subscribed(training: SynthesizedStack) -> None:
    topic = training.resource("AWS::SNS::Topic")
    assert "Fn::ImportValue" in topic["Properties"]["KmsMasterKeyId"]
    (policy,) = training.resources("AWS::SNS::TopicPolicy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert any(s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in statements)
    (subscription,) = training.resources("AWS::SNS::Subscription").values()
    assert subscription["Properties"]["Protocol"] == "email"


def test_runs_are_bounded_in_time(synthesized: dict[str, SynthesizedEnvironment]) -> None:
    for environment in synthesized.values():
        definition = definition_of(environment["Training"].resource("AWS::StepFunctions::StateMachine"))
        training = environment.config.training
        job = training.spot.max_wait_seconds if training.spot.enabled else training.max_runtime_seconds
        # The two baseline jobs run one after the other.
        assert definition["TimeoutSeconds"] == job + 2 * training.baseline.max_runtime_seconds + 3600


def test_versions_take_their_tags_from_the_group(training: SynthesizedStack) -> None:
    """CreateModelPackage refuses Tags together with ModelPackageGroupName."""
    definition = definition_of(training.resource("AWS::StepFunctions::StateMachine"))
    assert "Tags" not in definition["States"]["RegisterModel"]["Arguments"]
    group = training.resource("AWS::SageMaker::ModelPackageGroup")
    tags = {tag["Key"]: tag["Value"] for tag in group["Properties"]["Tags"]}
    assert tags["pipeline"] == f"mlops-{training.environment}-training"
    assert tags["environment"] == training.environment


def test_a_failed_job_is_explained_by_the_scripts_own_log_line(dev_definition: dict[str, Any]) -> None:
    """The container's toolkit replaces FailureReason with its own 'ExecuteUserScriptError'."""
    state, further = dev_definition["States"]["ExplainTrainingFailure"], dev_definition["States"]["SearchFurther"]
    original = {"Error": "States.TaskFailed", "Cause": '{"FailureReason": "ExecuteUserScriptError: ..."}'}
    line = "train.py error: channel 'validation': part.csv line 2, column 3: non-numeric value 'red'"
    context = {"Execution": {"StartTime": "2026-12-02T10:00:00.000Z"}}

    def after(result: dict[str, Any], log_search: dict[str, Any] | None = None) -> dict[str, Any]:
        return {"failure": original, "jobName": "mlops-dev-j", "states": {"result": result, "context": context}} | (
            {"logSearch": log_search} if log_search else {}
        )

    empty_page = {"Events": [], "NextToken": "t1"}
    found, not_found, request, next_request, search, more, exhausted, done = evaluate(
        [
            (state["Assign"]["failure"], after({"Events": [{"Message": line}]})),
            (state["Assign"]["failure"], after({"Events": []})),
            (state["Arguments"], after({})),
            (state["Arguments"], after({}, {"token": "t1", "pages": 1, "found": False})),
            (state["Assign"]["logSearch"], after(empty_page)),
            (further["Choices"][0]["Condition"], {"logSearch": {"token": "t1", "pages": 1, "found": False}}),
            (further["Choices"][0]["Condition"], {"logSearch": {"token": "t9", "pages": 10, "found": False}}),
            (further["Choices"][0]["Condition"], {"logSearch": {"pages": 1, "found": False}}),
        ]
    )
    assert found == {
        "Error": "States.TaskFailed",
        "Cause": "Training job mlops-dev-j failed: channel 'validation': part.csv line 2, column 3: non-numeric value 'red'",
    }
    assert not_found == original
    assert request == {
        "LogGroupName": "/aws/sagemaker/TrainingJobs",
        "FilterPattern": '"train.py error:"',
        "Limit": 1,
        "LogStreamNamePrefix": "mlops-dev-j/",
        "StartTime": 1796205600000,
    }
    assert next_request["NextToken"] == "t1"
    # An empty page with a token is not the end of the search (FilterLogEvents' documentation).
    assert search == {"token": "t1", "found": False, "pages": 1}
    assert (more, exhausted, done) == (True, False, False)


def test_the_pipeline_searches_only_the_training_job_log_group(training: SynthesizedStack) -> None:
    machine_role, _ = role_of(training, "PipelineMachineStateMachineRole")
    group = f"arn:aws:logs:eu-west-1:{ACCOUNTS[training.environment]}:log-group:/aws/sagemaker/TrainingJobs"
    assert {r for a, r in grants(training, machine_role, "logs") if a == "logs:FilterLogEvents"} == {group, f"{group}:*"}
