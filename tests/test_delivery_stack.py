"""The delivery pipeline: dev deploy → smoke test → approval → prod deploy, self-mutating."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from config import load_delivery
from tests.support.cfn_lint import lint_template

STACKS = ("Data", "Training", "BatchTransform", "Monitoring", "Inference")


@pytest.fixture(scope="module")
def delivery(delivery_assembly: Path) -> tuple[dict[str, Any], Path]:
    stage = delivery_assembly / "assembly-Delivery"
    manifest = json.loads((stage / "manifest.json").read_text())
    (template_file,) = [a["properties"]["templateFile"] for a in manifest["artifacts"].values() if a["type"] == "aws:cloudformation:stack"]
    return json.loads((stage / template_file).read_text()), delivery_assembly


def pipeline_of(template: dict[str, Any]) -> dict[str, Any]:
    (pipeline,) = [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::CodePipeline::Pipeline"]
    return pipeline


def actions(stage: dict[str, Any]) -> list[tuple[str, str, int]]:
    return sorted(((a["Name"], a["ActionTypeId"]["Provider"], a["RunOrder"]) for a in stage["Actions"]), key=lambda a: (a[2], a[0]))


def test_stages_run_dev_then_smoke_test_then_approval_then_prod(delivery: tuple[dict[str, Any], Path]) -> None:
    stages = pipeline_of(delivery[0])["Stages"]
    assert [s["Name"] for s in stages] == ["Source", "Build", "UpdatePipeline", "Assets", "Delivery-dev", "Delivery-prod"]
    dev, prod = (actions(s) for s in stages[4:])
    assert dev[-1] == ("SmokeTest-dev", "CodeBuild", max(a[2] for a in dev)), "the smoke test runs after every dev stack"
    assert "dev-Inference.Deploy" in [a[0] for a in dev if a[2] == dev[-2][2]], "in the last group of deployments"
    assert prod[0] == ("Approve-prod", "Manual", 1), "a person approves before anything reaches prod"
    assert {a[0] for a in prod if a[0].endswith(".Deploy")} == {
        f"prod-{s}.Deploy" for s in ("Data", "Training", "BatchTransform", "Monitoring", "Inference")
    }


def test_source_is_the_git_connection_from_config(delivery: tuple[dict[str, Any], Path]) -> None:
    (source,) = pipeline_of(delivery[0])["Stages"][0]["Actions"]
    config = load_delivery()
    assert source["ActionTypeId"]["Provider"] == "CodeStarSourceConnection"
    assert source["Configuration"]["ConnectionArn"] == config.connection_arn
    assert source["Configuration"]["FullRepositoryId"] == config.repository
    assert source["Configuration"]["BranchName"] == config.branch


def test_the_source_may_use_the_connection_under_its_own_service_prefix(delivery: tuple[dict[str, Any], Path]) -> None:
    """An arn:aws:codeconnections: connection needs codeconnections:UseConnection."""
    config = load_delivery()
    uses = [
        statement
        for resource in delivery[0]["Resources"].values()
        if resource["Type"] == "AWS::IAM::Policy"
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]
        if str(statement["Action"]).endswith(":UseConnection")
    ]
    assert [(s["Action"], s["Resource"]) for s in uses] == [("codeconnections:UseConnection", config.connection_arn)]


def build_spec(template: dict[str, Any], command: str) -> dict[str, Any]:
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::CodeBuild::Project":
            spec = resource["Properties"]["Source"]["BuildSpec"]
            text = spec if isinstance(spec, str) else json.dumps(spec)
            if command in text:
                return json.loads(spec) if isinstance(spec, str) else spec
    raise AssertionError(f"no CodeBuild project runs {command!r}")


def test_synth_runs_the_tests_then_synthesizes(delivery: tuple[dict[str, Any], Path]) -> None:
    spec = build_spec(delivery[0], "make synth-delivery")
    assert spec["phases"]["build"]["commands"] == ["make test", "make synth-delivery"]
    assert spec["phases"]["install"]["runtime-versions"] == {"nodejs": "20", "python": "3.11"}


def test_smoke_test_calls_the_endpoint_named_by_the_stack_output_through_the_environments_role(
    delivery: tuple[dict[str, Any], Path],
) -> None:
    spec = json.dumps(build_spec(delivery[0], "clients.predict"))
    assert 'python -m clients.predict --endpoint \\"$ENDPOINT_NAME\\" --region eu-west-1 --features 30' in spec
    assert "--assume-role arn:aws:iam::111111111111:role/mlops-dev-endpoint-smoke-test clients/smoke_rows.csv" in spec
    stages = pipeline_of(delivery[0])["Stages"]
    (smoke,) = [a for a in stages[4]["Actions"] if a["Name"] == "SmokeTest-dev"]
    variables = json.loads(smoke["Configuration"]["EnvironmentVariables"])
    assert variables[0]["name"] == "ENDPOINT_NAME"
    assert variables[0]["value"] == "#{DeliveryPipelinedevInferenceB6B32363.EndpointName}"


def test_environments_let_only_the_pipeline_account_smoke_test_their_endpoint(delivery: tuple[dict[str, Any], Path]) -> None:
    outdir = delivery[1]
    template_path = next(outdir.glob("assembly-Delivery/assembly-Delivery-Pipeline-prod/*Inference*.template.json"))
    template = json.loads(template_path.read_text())
    (role_id, role) = next(
        (k, r) for k, r in template["Resources"].items() if k.startswith("SmokeTestRole") and r["Type"] == "AWS::IAM::Role"
    )
    assert role["Properties"]["RoleName"] == "mlops-prod-endpoint-smoke-test"
    principal = role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["AWS"]
    assert "333333333333" in json.dumps(principal)
    (policy,) = [
        r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Policy" and {"Ref": role_id} in r["Properties"]["Roles"]
    ]
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "sagemaker:InvokeEndpoint"
    assert statement["Resource"] == "arn:aws:sagemaker:eu-west-1:222222222222:endpoint/mlops-prod-xgboost"


def test_stacks_keep_the_names_of_a_deploy_by_hand(delivery: tuple[dict[str, Any], Path]) -> None:
    manifest = json.loads((delivery[1] / "assembly-Delivery" / "assembly-Delivery-Pipeline-dev" / "manifest.json").read_text())
    names = {a["properties"]["stackName"] for a in manifest["artifacts"].values() if a["type"] == "aws:cloudformation:stack"}
    assert names == {f"dev-{s}" for s in STACKS}


def test_artifacts_are_kms_encrypted_with_rotation_for_cross_account_deploys(delivery: tuple[dict[str, Any], Path]) -> None:
    template = delivery[0]
    keys = [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::KMS::Key"]
    assert keys
    assert all(k["EnableKeyRotation"] is True for k in keys)
    (bucket,) = [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::S3::Bucket"]
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"


def test_cdk_nag_passes_with_reasons_and_cfn_lint_is_clean(delivery: tuple[dict[str, Any], Path]) -> None:
    template, outdir = delivery
    report = json.loads((outdir / "validation-report.json").read_text())
    for plugin in report["pluginReports"]:
        assert plugin["violations"] == [], plugin["pluginName"]
        assert all(len(s["reason"].split()) >= 6 for s in plugin["suppressedViolations"])
    matches = lint_template(template, "eu-west-1")
    problems = [f"{m.rule.id} {m.message}" for m in matches if m.rule.id[0] in "EW"]
    assert [p for p in problems if p != PIPELINE_ROLE_ARN_STYLE] == []


# cfn-lint's role-ARN format check (part of E3703) flags the Fn::Join that CDK Pipelines builds
# each action's role ARN with; the ARNs are valid, only the style (Fn::Sub) differs. The rest of
# E3703 (input artifacts of template paths) still applies.
PIPELINE_ROLE_ARN_STYLE = "E3703 Prefer using Fn::Sub over Fn::Join with an empty delimiter"


def test_stages_and_approvals_must_name_environments(tmp_path: Path) -> None:
    from config import ConfigError

    (tmp_path / "dev.yaml").write_text((Path("config") / "dev.yaml").read_text())
    (tmp_path / "delivery.yaml").write_text(
        (Path("config") / "delivery.yaml").read_text().replace("[dev, prod]", "[dev, staging]").replace("[prod]", "[staging]")
    )
    with pytest.raises(ConfigError, match=r"delivery.yaml: stages = \['staging'\]: allowed: environments in .* \(dev\)"):
        load_delivery(tmp_path)
    (tmp_path / "delivery.yaml").write_text((Path("config") / "delivery.yaml").read_text().replace("[dev, prod]", "[dev]"))
    with pytest.raises(ConfigError, match=r"approval_before = \['prod'\]: allowed: names from stages \(dev\)"):
        load_delivery(tmp_path)


def test_pipeline_template_matches_snapshot(delivery: tuple[dict[str, Any], Path], snapshot: SnapshotAssertion) -> None:
    assert delivery[0] == snapshot.use_extension(JSONSnapshotExtension)


def roles(template: dict[str, Any]) -> list[dict[str, Any]]:
    return [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Role"]


def test_the_smoke_test_role_trusts_the_smoke_tests_codebuild_role_only(delivery: tuple[dict[str, Any], Path]) -> None:
    template, outdir = delivery
    tooling = load_delivery().account
    for name in load_delivery().stages:
        path = next(outdir.glob(f"assembly-Delivery/assembly-Delivery-Pipeline-{name}/*Inference*.template.json"))
        (role,) = [r for r in roles(json.loads(path.read_text())) if r.get("RoleName") == f"mlops-{name}-endpoint-smoke-test"]
        (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
        assert statement["Principal"] == {"AWS": f"arn:aws:iam::{tooling}:root"}
        assert statement["Condition"] == {"ArnEquals": {"aws:PrincipalArn": f"arn:aws:iam::{tooling}:role/mlops-{name}-smoke-test-runner"}}
        assert [r for r in roles(template) if r.get("RoleName") == f"mlops-{name}-smoke-test-runner"], "the smoke test runs as that role"


def test_pipeline_service_roles_are_bound_to_the_tooling_account(delivery: tuple[dict[str, Any], Path]) -> None:
    tooling = load_delivery().account
    service_statements = [
        s for role in roles(delivery[0]) for s in role["AssumeRolePolicyDocument"]["Statement"] if "Service" in s["Principal"]
    ]
    assert len(service_statements) >= 4
    assert all(s["Condition"] == {"StringEquals": {"aws:SourceAccount": tooling}} for s in service_statements), service_statements
