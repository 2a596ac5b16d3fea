"""`cdk deploy` end to end, with no AWS account: synthesize, bootstrap, deploy, verify, update and
destroy dev, then prod, on moto's server (loopback only, started and stopped by each run, each CLI
step bounded in time), as `make local-deploy` and `make local-deploy ENV=prod` do one after the
other on one machine."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts.local_deploy import LocalDeployError, run

STEPS = ["cdk synth", "cdk bootstrap", "cdk deploy", "cdk deploy", "cdk destroy"]


def test_dev_then_prod_deploy_update_and_tear_down_on_one_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The user's CDK home, shared by both runs as ~/.cdk is: the CLI cached the account of the
    # script's access key there, so prod failed to bootstrap after dev ("the current credentials
    # are for 111111111111"). Each run must bring its own and leave this one alone.
    user_cdk_home = tmp_path / "user-cdk-home"
    user_cdk_home.mkdir()
    monkeypatch.setenv("CDK_HOME", str(user_cdk_home))

    dev = run("dev")
    prod = run("prod")

    assert dev[0] == "stacks: dev-Data, dev-Training, dev-BatchTransform, dev-Monitoring, dev-Inference"
    assert prod[0] == "stacks: prod-Data, prod-Training, prod-BatchTransform, prod-Monitoring, prod-Inference"
    for summary in (dev, prod):
        assert "buckets: data, models, batch with SSE-KMS" in summary
        assert [line.split(":")[0] for line in summary if line.startswith("cdk ")] == STEPS
    assert any(line.startswith("endpoint: variant primary on ml.m5.large, config with KMS") for line in dev)
    assert any(line.startswith("endpoint: variant primary on ml.m5.xlarge, config with KMS") for line in prod)
    assert list(user_cdk_home.iterdir()) == []


def test_an_unknown_environment_is_reported_before_anything_starts() -> None:
    with pytest.raises(LocalDeployError, match="unknown environment 'staging'"):
        run("staging")
