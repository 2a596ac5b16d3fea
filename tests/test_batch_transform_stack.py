"""The BatchTransform stack: the transform pipeline, its manifest, triggers and IAM scoping."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import SynthesizedEnvironment, SynthesizedStack
from tests.support.asl import definition_of, evaluate, validate
from tests.support.iam import grants, role_of

ACCOUNTS = {"dev": "111111111111", "prod": "222222222222"}


@pytest.fixture(params=["dev", "prod"], scope="module")
def batch(request: pytest.FixtureRequest, synthesized: dict[str, SynthesizedEnvironment]) -> SynthesizedStack:
    return synthesized[request.param]["BatchTransform"]


@pytest.fixture(scope="module")
def dev_definition(dev: SynthesizedEnvironment) -> dict[str, Any]:
    return definition_of(dev["BatchTransform"].resource("AWS::StepFunctions::StateMachine"))


def bucket(environment: str) -> str:
    return f"mlops-{environment}-batch-{ACCOUNTS[environment]}-eu-west-1"


def grants_of(stack: SynthesizedStack, role_prefix: str) -> set[tuple[str, str]]:
    role_id, _ = role_of(stack, role_prefix)
    return grants(stack, role_id)


def test_definition_is_valid_asl(batch: SynthesizedStack) -> None:
    assert validate(definition_of(batch.resource("AWS::StepFunctions::StateMachine"))) == []


def test_transform_job_comes_from_config(synthesized: dict[str, SynthesizedEnvironment]) -> None:
    for name, environment in synthesized.items():
        config = environment.config.batch
        assert config is not None
        request = definition_of(environment["BatchTransform"].resource("AWS::StepFunctions::StateMachine"))["States"]["Transform"]
        assert request["Resource"] == "arn:aws:states:::sagemaker:createTransformJob.sync"
        args = request["Arguments"]
        assert args["TransformResources"]["InstanceType"] == config.instance_type
        assert args["TransformResources"]["InstanceCount"] == config.instance_count
        assert args["TransformResources"]["VolumeKmsKeyId"].startswith("<import:")
        assert args["TransformOutput"]["KmsKeyId"] == args["TransformResources"]["VolumeKmsKeyId"]
        assert args["MaxPayloadInMB"] == config.max_payload_mb
        assert args["BatchStrategy"] == "MultiRecord"
        assert args["TransformInput"]["ContentType"] == "text/csv"
        assert args["TransformInput"]["SplitType"] == "Line"
        assert args["TransformInput"]["DataSource"]["S3DataSource"]["S3DataType"] == "ManifestFile"
        assert args["TransformOutput"]["AssembleWith"] == "Line"
        assert args["DataProcessing"] == {"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$"}
        assert args["ModelName"].startswith("<Model")
        assert ("MaxConcurrentTransforms" in args) == (config.max_concurrent_transforms > 0)
        assert environment["BatchTransform"].resource("AWS::StepFunctions::StateMachine")["Properties"]["TracingConfiguration"] == {
            "Enabled": True
        }
        assert name in args["TransformOutput"]["S3OutputPath"]


def test_manifest_lists_the_data_files_of_the_set_and_nothing_else(dev_definition: dict[str, Any]) -> None:
    files_expression = dev_definition["States"]["ListInput"]["Assign"]["files"]
    listing = {
        "Contents": [
            {"Key": "input/daily/part-0000.csv", "Size": 10},
            {"Key": "input/daily/sub/part-0001.csv", "Size": 10},
            {"Key": "input/daily/_SUCCESS", "Size": 0},
            {"Key": "input/daily/.hidden", "Size": 5},
            {"Key": "input/daily/empty.csv", "Size": 0},
        ],
        "IsTruncated": False,
    }
    body = dev_definition["States"]["WriteManifest"]["Arguments"]["Body"]
    key = dev_definition["States"]["WriteManifest"]["Arguments"]["Key"]
    [files] = evaluate([(files_expression, {"states": {"result": listing}, "inputSet": "input/daily/"})])
    assert files == ["part-0000.csv", "sub/part-0001.csv"]
    page = {"jobName": "mlops-dev-batch-x", "page": {"number": 3}}
    manifest, manifest_key = evaluate([(body, {"inputSet": "input/daily/", "files": files}), (key, page)])
    assert json.loads(manifest) == [{"prefix": f"s3://{bucket('dev')}/input/daily/"}, "part-0000.csv", "sub/part-0001.csv"]
    assert manifest_key == "manifests/mlops-dev-batch-x-3.manifest", "one manifest per listing page"
    assert dev_definition["States"]["WriteManifest"]["Arguments"]["ServerSideEncryption"] == "aws:kms"


def test_outputs_land_under_the_matching_key(dev_definition: dict[str, Any]) -> None:
    args = dev_definition["States"]["Transform"]["Arguments"]
    output, manifest = evaluate(
        [
            (args["TransformOutput"]["S3OutputPath"], {"inputSet": "input/daily/"}),
            (args["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"], {"jobName": "mlops-dev-batch-x", "page": {"number": 1}}),
        ]
    )
    assert output == f"s3://{bucket('dev')}/output/daily/"
    assert manifest == f"s3://{bucket('dev')}/manifests/mlops-dev-batch-x-1.manifest"


def next_state(states: dict[str, Any], choice: str, variables: dict[str, Any]) -> str:
    rules = states[choice]["Choices"]
    verdicts = evaluate([(rule["Condition"], variables) for rule in rules])
    return next((rule["Next"] for rule, verdict in zip(rules, verdicts, strict=True) if verdict), states[choice]["Default"])


@pytest.mark.parametrize(
    ("files", "page", "listed", "then"),
    [
        (["a.csv"], 1, 1, "ReadFirstRow"),
        (["b.csv"], 2, 2, "WriteManifest"),  # a later page: the width was checked on the first
        ([], 1, 0, "ListInput"),  # a page of markers and hidden files, more to come
        (["a.csv"], 2, 1, "ReadFirstRow"),  # the first page with data files
        ([], 1, 0, "NoInputFiles"),
        ([], 4, 2500, "NotifySuccess"),  # the last page held markers only
        (["a.csv"], 601, 600001, "TooManyFiles"),
    ],
)
def test_each_listing_page_goes_its_way(dev_definition: dict[str, Any], files: list[str], page: int, listed: int, then: str) -> None:
    more = then == "ListInput"
    variables = {"files": files, "page": {"number": page, "more": more}, "filesListed": listed}
    assert next_state(dev_definition["States"], "CheckInput", variables) == then


def test_after_a_transform_the_next_page_is_listed_until_the_last(dev_definition: dict[str, Any]) -> None:
    states = dev_definition["States"]
    assert states["Transform"]["Next"] == "MorePages"
    assert next_state(states, "MorePages", {"page": {"number": 1, "more": True}}) == "ListInput"
    assert next_state(states, "MorePages", {"page": {"number": 7, "more": False}}) == "NotifySuccess"


def test_empty_or_oversized_sets_fail_with_a_clear_cause(dev_definition: dict[str, Any]) -> None:
    states = dev_definition["States"]
    no_files_cause = states["NoInputFiles"]["Assign"]["failure"]["Cause"]
    too_many_cause = states["TooManyFiles"]["Assign"]["failure"]["Cause"]
    results = evaluate([(no_files_cause, {"inputSet": "input/x/"}), (too_many_cause, {"inputSet": "input/x/"})])
    assert results[0] == f"No data files in s3://{bucket('dev')}/input/x/ (only markers, hidden or empty files)"
    assert results[1] == (
        f"s3://{bucket('dev')}/input/x/ holds more than 600000 objects, more than one run can page through; the files of the first "
        f"600 pages were transformed into s3://{bucket('dev')}/output/, the others were not: split the set or combine its files "
        "into fewer, larger ones"
    )


def test_input_set_comes_from_the_marker_or_the_manual_input(dev_definition: dict[str, Any]) -> None:
    assign = dev_definition["States"]["ResolveInputSet"]["Assign"]["inputSet"]
    condition = dev_definition["States"]["CheckInputSet"]["Choices"][0]["Condition"]

    def states(**input_: Any) -> dict[str, Any]:
        return {"input": input_, "context": {"Execution": {"Name": "e"}}}

    marker, manual = evaluate(
        [(assign, {"states": states(marker_key="input/daily/_SUCCESS")}), (assign, {"states": states(input="input/adhoc/")})]
    )
    assert (marker, manual) == ("input/daily/", "input/adhoc/")
    assert evaluate([(condition, {"inputSet": s}) for s in ("input/daily/", "training/x/", "input/")]) == [True, False, False]


def test_transform_model_reads_inputs_and_writes_outputs_only(batch: SynthesizedStack) -> None:
    env = batch.environment
    arn = f"arn:aws:s3:::{bucket(env)}"
    s3 = {grant for grant in grants_of(batch, "ModelRole") if grant[0].startswith("s3:") and "models" not in grant[1]}
    assert s3 == {
        ("s3:GetObject", f"{arn}/input/*"),
        ("s3:GetObject", f"{arn}/manifests/*"),
        ("s3:PutObject", f"{arn}/output/*"),
        ("s3:AbortMultipartUpload", f"{arn}/output/*"),
        ("s3:ListBucket", arn),
    }


def test_pipeline_lists_inputs_writes_manifests_and_runs_its_own_jobs(batch: SynthesizedStack) -> None:
    env = batch.environment
    grants = grants_of(batch, "PipelineMachineStateMachineRole")
    arn = f"arn:aws:s3:::{bucket(env)}"
    assert {g for g in grants if g[0].startswith("s3:")} == {
        ("s3:ListBucket", arn),
        ("s3:GetObject", f"{arn}/input/*"),  # the first row of the set, for the width check
        ("s3:PutObject", f"{arn}/manifests/*"),
        ("s3:AbortMultipartUpload", f"{arn}/manifests/*"),
    }
    sagemaker = {g for g in grants if g[0].startswith("sagemaker:")}
    assert {resource for _, resource in sagemaker} == {f"arn:aws:sagemaker:eu-west-1:{ACCOUNTS[env]}:transform-job/mlops-{env}-batch-*"}
    assert not [g for g in grants if g[0] == "iam:PassRole"]


def test_a_run_starts_per_complete_input_set(batch: SynthesizedStack) -> None:
    (rule,) = [r for k, r in batch.resources("AWS::Events::Rule").items() if k.startswith("StartsMarker")]
    assert rule["Properties"]["EventPattern"]["detail"] == {
        "bucket": {"name": [bucket(batch.environment)]},
        "object": {"key": [{"wildcard": "input/*/_SUCCESS"}]},
    }
    (target,) = rule["Properties"]["Targets"]
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 21600, "MaximumRetryAttempts": 8}
    assert "Arn" in target["DeadLetterConfig"]


def test_schedule_in_prod_only(synthesized: dict[str, SynthesizedEnvironment]) -> None:
    def schedules(env: str) -> list[dict[str, Any]]:
        return [r for k, r in synthesized[env]["BatchTransform"].resources("AWS::Events::Rule").items() if k.startswith("StartsSchedule")]

    assert schedules("dev") == []
    (rule,) = schedules("prod")
    assert json.loads(rule["Properties"]["Targets"][0]["Input"]) == {"input": "input/daily/"}


def test_runs_are_bounded_in_time(synthesized: dict[str, SynthesizedEnvironment]) -> None:
    for environment in synthesized.values():
        definition = definition_of(environment["BatchTransform"].resource("AWS::StepFunctions::StateMachine"))
        assert definition["TimeoutSeconds"] == environment.config.batch.timeout_hours * 3600  # type: ignore[union-attr]


def test_a_set_of_the_wrong_width_fails_before_any_job_with_its_cause(dev: SynthesizedEnvironment, dev_definition: dict[str, Any]) -> None:
    """The container scores a row one value short (missing feature) without complaint: a
    features-only set sent through the label-dropping filter would be scored wrongly."""
    states = dev_definition["States"]
    assert next_state(states, "CheckInput", {"files": ["a.csv"], "page": {"number": 1, "more": False}, "filesListed": 1}) == "ReadFirstRow"
    assert states["ReadFirstRow"]["Arguments"]["Range"] == "bytes=0-65535"
    features = dev.config.inference.model.features  # type: ignore[union-attr]
    assert dev.config.batch is not None
    assert dev.config.batch.input_has_label

    def read(body: str) -> dict[str, Any]:
        assign = states["ReadFirstRow"]["Assign"]
        width, complete = evaluate([(assign[name], {"states": {"result": {"Body": body}}}) for name in ("firstRowWidth", "complete")])
        return {"firstRowWidth": width, "complete": complete, "inputSet": "input/daily/", "files": ["a.csv"]}

    labelled = ",".join(["1"] + ["0.5"] * features)
    features_only = ",".join(["0.5"] * features)
    cases = [read(labelled + "\r\n" + labelled + "\n"), read(features_only + "\n"), read(features_only), read("0.5," * 40000)]
    condition = states["CheckWidth"]["Choices"][0]["Condition"]
    assert evaluate([(condition, case) for case in cases]) == [True, False, False, True]  # the last row is not complete: not judged
    [cause] = evaluate([(states["WrongWidth"]["Assign"]["failure"]["Cause"], cases[1])])
    assert cause == (
        f"s3://{bucket('dev')}/input/daily/a.csv: the first row has {features} values; expected {features + 1}: "
        f"the label, then the {features} features the model was trained on (batch.input_has_label: true)"
    )
