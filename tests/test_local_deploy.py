"""`cdk deploy` end to end, with no AWS account: deploy, verify, update and destroy dev on moto's
server (loopback only, started and stopped by the test, each CLI step bounded in time)."""

from __future__ import annotations

import pytest

from scripts.local_deploy import run


def test_dev_deploys_updates_and_tears_down_on_the_local_emulator() -> None:
    summary = run("dev")
    assert summary[0] == "stacks: dev-Data, dev-Training, dev-BatchTransform, dev-Monitoring, dev-Inference"
    assert "buckets: data, models, batch with SSE-KMS" in summary
    assert any(line.startswith("endpoint: variant primary on ml.m5.large, config with KMS") for line in summary)
    assert [line.split(":")[0] for line in summary if line.startswith("cdk ")] == [
        "cdk bootstrap",
        "cdk deploy",
        "cdk deploy",
        "cdk destroy",
    ]


def test_an_unknown_environment_is_reported_before_anything_starts() -> None:
    from scripts.local_deploy import LocalDeployError

    with pytest.raises(LocalDeployError, match="unknown environment 'staging'"):
        run("staging")
