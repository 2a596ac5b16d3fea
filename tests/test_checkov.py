"""checkov, as security teams run it, over every synthesized template: no finding without a reason.

One checkov run (its own venv, ``make test`` builds it) scans every environment's stacks, the
delivery pipeline's stack and the pipeline's copies of the environment stacks (what it deploys).
A finding fails the suite unless the resource records why it does not apply
(``Metadata.checkov.skip``, written by ``ml_constructs.checkov.skip_checkov``); each such reason
is a sentence, and each is one checkov actually applied.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest

from ml_constructs.aws_facts.key_policies import CLOUDWATCH_LOGS
from ml_constructs.checkov import MIN_REASON_LENGTH, skip_checkov
from ml_constructs.pipeline import LOG_GROUP_PREFIX
from tests.support.iam_reference import Template

PROJECT_DIR = Path(__file__).resolve().parents[1]
CHECKOV = PROJECT_DIR / ".venv-checkov" / "bin" / "checkov"
REQUIREMENTS = PROJECT_DIR / "tests" / "support" / "checkov-requirements.txt"


@dataclass(frozen=True)
class Report:
    results: dict[str, list[dict[str, Any]]]
    summary: dict[str, Any]
    templates: dict[str, Template]
    """By the file name checkov reports (``dev__Training.template.json``)."""
    seconds: float

    def where(self, finding: dict[str, Any]) -> str:
        return self.templates[Path(finding["file_path"]).name].where


@pytest.fixture(scope="module")
def templates(every_template: list[Template]) -> list[Template]:
    return every_template


@pytest.fixture(scope="module")
def report(templates: list[Template], tmp_path_factory: pytest.TempPathFactory) -> Report:
    if not CHECKOV.exists():
        pytest.fail(
            f"checkov is not installed at {CHECKOV.relative_to(PROJECT_DIR)}: `make test` builds that venv from "
            f"{REQUIREMENTS.relative_to(PROJECT_DIR)} (or run `make .venv-checkov/.checkov-installed`)",
            pytrace=False,
        )
    directory = tmp_path_factory.mktemp("checkov")
    by_file = {f"{t.where.replace('/', '__')}.template.json": t for t in templates}
    assert len(by_file) == len(templates), "two templates share a name"
    for name, template in by_file.items():
        (directory / name).write_text(json.dumps(template.body))
    start = time.monotonic()
    # --skip-download: nothing is fetched from the vendor's platform (CI reaches only package registries).
    # --compact: findings without each resource's source (40 MB of JSON for these templates, 2 MB
    # without); the same checks run and the same results come back.
    result = subprocess.run(
        [str(CHECKOV), "--directory", str(directory), "--framework", "cloudformation", "--output", "json", "--skip-download", "--compact"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    seconds = time.monotonic() - start
    # checkov exits 1 when a check fails (reported below, finding by finding); anything else is a crash.
    assert result.returncode in (0, 1), f"checkov exited {result.returncode}:\n{result.stderr[-4000:]}"
    runs = json.loads(result.stdout)
    (run,) = [r for r in (runs if isinstance(runs, list) else [runs]) if r.get("check_type") == "cloudformation"]
    return Report(run["results"], run["summary"], by_file, seconds)


def test_checkov_scans_every_template(report: Report) -> None:
    assert report.summary["parsing_errors"] == 0, report.results.get("parsing_errors")
    scanned = {Path(f["file_path"]).name for kind in ("passed_checks", "failed_checks", "skipped_checks") for f in report.results[kind]}
    assert scanned == set(report.templates), f"templates checkov did not scan: {sorted(set(report.templates) - scanned)}"
    assert {t.where for t in report.templates.values()} >= {"dev/Data", "prod/Training", "Delivery/delivery-pipeline", "Delivery/prod-Data"}
    print(f"checkov {report.summary['checkov_version']}: {len(report.templates)} templates in {report.seconds:.1f} s")


def test_checkov_finds_nothing_that_is_not_justified_on_the_resource(report: Report) -> None:
    failures = sorted(f"{report.where(f)} · {f['resource']} · {f['check_id']} {f['check_name']}" for f in report.results["failed_checks"])
    assert not failures, (
        f"checkov findings ({len(failures)}): fix them, or record why one does not apply with "
        "ml_constructs.checkov.skip_checkov on the resource:\n" + "\n".join(f"  - {f}" for f in failures)
    )


def _recorded_skips(templates: list[Template]) -> list[tuple[Template, str, dict[str, Any]]]:
    return [
        (template, logical, skip)
        for template in templates
        for logical, resource in template.resources.items()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]


def test_every_recorded_skip_is_a_sentence(templates: list[Template]) -> None:
    skips = _recorded_skips(templates)
    assert skips, "the access-log bucket, the batch bucket and the dead-letter queues record why checks do not apply"
    short = [
        f"{t.where} · {logical} · {skip.get('id')}: {skip.get('comment')!r}"
        for t, logical, skip in skips
        if not re.fullmatch(r"CKV2?_AWS_\d+", str(skip.get("id")))
        or len(str(skip.get("comment", ""))) < MIN_REASON_LENGTH
        or len(str(skip.get("comment", "")).split()) < 6
        or not str(skip.get("comment")).endswith(".")
    ]
    assert not short, "skips without a reason a reviewer would accept:\n" + "\n".join(short)


def test_every_recorded_skip_is_one_checkov_applied(templates: list[Template], report: Report) -> None:
    """A mistyped id, or a check that does not apply to the resource, would skip nothing and hide nothing."""
    applied = {
        (report.where(f), f["resource"].split(".", 1)[1], f["check_id"], f["check_result"].get("suppress_comment"))
        for f in report.results["skipped_checks"]
    }
    recorded = {(t.where, logical, skip["id"], skip["comment"]) for t, logical, skip in _recorded_skips(templates)}
    assert recorded - applied == set(), f"skips checkov did not apply: {sorted(recorded - applied)}"
    assert applied - recorded == set(), f"skips checkov applied from elsewhere: {sorted(applied - recorded)}"


# --- what checkov found, closed -----------------------------------------------------------------


def test_pipeline_logs_are_encrypted_with_the_environment_key_for_those_log_groups_only(templates: list[Template]) -> None:
    """CKV_AWS_158: each state machine's log group uses its environment's data key, whose policy grants
    CloudWatch Logs what AWS documents (aws_facts.key_policies), under the encryption context of
    exactly those log groups."""
    environments = [t for t in templates if t.app == "environments"]
    for data in (t for t in environments if t.where.endswith("/Data")):
        name = data.where.split("/")[0]
        region, account = data.env.region, data.env.account
        (key,) = [logical for logical in data.of_type("AWS::KMS::Key") if logical.startswith("DataKey")]
        key_arn = data.render({"Fn::GetAtt": [key, "Arn"]})
        groups = {
            f"arn:aws:logs:{region}:{account}:log-group:{properties['LogGroupName']}": t.render(properties.get("KmsKeyId"))
            for t in environments
            if t.where.startswith(f"{name}/")
            for properties in (group["Properties"] for group in t.of_type("AWS::Logs::LogGroup").values())
        }
        assert groups, f"{name}: no state machine log group"
        assert set(groups.values()) == {key_arn}, f"{name}: log groups not encrypted with {key_arn}: {groups}"
        # State machines' execution logs, and a prediction API's access log where there is one.
        assert all(arn.split(":log-group:")[1].startswith((LOG_GROUP_PREFIX, "/aws/apigateway/")) for arn in groups)
        statements = [
            s
            for s in data.resources[key]["Properties"]["KeyPolicy"]["Statement"]
            if s.get("Principal") == {"Service": CLOUDWATCH_LOGS.principal.format(region=region)}
        ]
        for statement in statements:
            assert sorted(statement["Action"]) == sorted(CLOUDWATCH_LOGS.actions), f"{statement}\n{CLOUDWATCH_LOGS.source}"
            assert statement["Resource"] == "*"
            assert list(statement["Condition"]) == ["ArnEquals"]
            assert list(statement["Condition"]["ArnEquals"]) == [CLOUDWATCH_LOGS.context_key]
        granted = {arn for s in statements for arn in s["Condition"]["ArnEquals"][CLOUDWATCH_LOGS.context_key]}
        assert granted == set(groups), f"{name}: the key policy names {sorted(granted)}, the log groups are {sorted(groups)}"


# --- the helper ---------------------------------------------------------------------------------


def _bucket() -> cdk.CfnResource:
    return cdk.CfnResource(cdk.Stack(), "Bucket", type="AWS::S3::Bucket")


def test_skips_accumulate_per_resource_and_a_check_is_recorded_once() -> None:
    bucket = _bucket()
    skip_checkov(bucket, "CKV_AWS_18", "The first reason, which is long enough to be a sentence.")
    skip_checkov(bucket, "CKV_AWS_21", "A second check with a reason that says why it does not apply.")
    skip_checkov(bucket, "CKV_AWS_18", "The first check again, with   a   better reason than before.")
    assert bucket.get_metadata("checkov") == {
        "skip": [
            {"id": "CKV_AWS_21", "comment": "A second check with a reason that says why it does not apply."},
            {"id": "CKV_AWS_18", "comment": "The first check again, with a better reason than before."},
        ]
    }


@pytest.mark.parametrize(
    ("check_id", "reason", "message"),
    [
        ("CKV_AWS_18", "Not needed.", "must be a sentence of at least 30 characters"),
        ("CKV_AWS_18", "A reason long enough but without its full stop", "ending with '.'"),
        ("AwsSolutions-S1", "A reason that is long enough to be a real sentence.", "is not a checkov AWS check id"),
    ],
)
def test_a_skip_needs_a_check_id_and_a_sentence(check_id: str, reason: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        skip_checkov(_bucket(), check_id, reason)


def test_the_checkov_venv_is_pinned_completely() -> None:
    """CI installs exactly the tested set: every requirement is pinned, checkov among them."""
    lines = [line for line in REQUIREMENTS.read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+==[A-Za-z0-9.+!-]+", line) for line in lines), lines
    assert any(line.startswith("checkov==") for line in lines)
