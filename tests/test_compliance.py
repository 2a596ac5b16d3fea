"""cdk-nag (AwsSolutions) and cfn-lint over every synthesized template."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3
from cdk_nag import AwsSolutionsChecks

from tests.conftest import SynthesizedEnvironment, SynthesizedStack, all_stacks
from tests.support.cfn_lint import lint_template


def validation_report(synthesized: dict[str, SynthesizedEnvironment]) -> dict:
    any_stack = next(all_stacks(synthesized))
    return json.loads((any_stack.directory.parent / "validation-report.json").read_text())


def test_cdk_nag_reports_no_unacknowledged_finding(synthesized: dict[str, SynthesizedEnvironment]) -> None:
    reports = validation_report(synthesized)["pluginReports"]
    assert [r["pluginName"] for r in reports if r["pluginName"] == "AwsSolutions"] == ["AwsSolutions"] * len(synthesized)
    for report in reports:
        assert report["conclusion"] == "success"
        assert report["violations"] == []


def test_every_acknowledgment_carries_a_specific_reason(synthesized: dict[str, SynthesizedEnvironment]) -> None:
    acknowledged = [a for report in validation_report(synthesized)["pluginReports"] for a in report["suppressedViolations"]]
    assert acknowledged, "the IAM prefix scopes are acknowledged, so the list cannot be empty"
    for finding in acknowledged:
        assert len(finding["reason"].split()) >= 6, finding["acknowledgedId"]


def test_a_new_finding_fails_synth(tmp_path: Path) -> None:
    app = cdk.App(outdir=str(tmp_path), builtin_cloud_formation_validation=False)  # seconds per synth; cdk-nag is under test
    stage = cdk.Stage(app, "probe")
    stack = cdk.Stack(stage, "Insecure")
    s3.CfnBucket(stack, "PlainBucket")
    cdk.Validations.of(stage).add_plugins(AwsSolutionsChecks(stage))
    with pytest.raises(RuntimeError, match="AwsSolutions-S1"):
        app.synth()
    (report,) = json.loads((tmp_path / "validation-report.json").read_text())["pluginReports"]
    assert {"AwsSolutions-S1", "AwsSolutions-S10"} <= {violation["ruleName"] for violation in report["violations"]}


def stack_ids(synthesized_stack: SynthesizedStack) -> str:
    return f"{synthesized_stack.environment}-{synthesized_stack.name}"


def test_cfn_lint_finds_no_error_or_warning(synthesized: dict[str, SynthesizedEnvironment]) -> None:
    problems = []
    for stack in all_stacks(synthesized):
        matches = lint_template(stack.template, synthesized[stack.environment].config.region)
        problems += [
            f"{stack_ids(stack)}: {m.rule.id} {m.message} at {'/'.join(map(str, m.path))}" for m in matches if m.rule.id[0] in "EW"
        ]
    assert problems == []
