#!/usr/bin/env python3
"""The CDK app: one Stage per environment in ``config/``.

``cdk synth`` builds the delivery pipeline (``config/delivery.yaml``) with every environment it
promotes through; ``cdk synth -c env=dev`` builds one environment on its own, to deploy by hand.
Without ``config/delivery.yaml``, ``cdk synth`` builds every environment on its own.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

# jsii warns on every start under Node 20; the project supports the Node the machine has.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from config import ConfigError, DeliveryConfig, EnvironmentConfig, available_environments, load_delivery, load_environment
from config.loader import CONFIG_DIR, DELIVERY

if TYPE_CHECKING:
    import aws_cdk as cdk

PROJECT_DIR = Path(__file__).resolve().parent


def cdk_json_context() -> dict[str, Any]:
    """Feature flags and settings from cdk.json, so that tests and `python app.py` synthesize
    exactly what `cdk synth` does (the CLI passes them through the environment)."""
    return json.loads((PROJECT_DIR / "cdk.json").read_text())["context"]


def selected_environments(selection: str | None) -> list[EnvironmentConfig]:
    names = available_environments() if selection in (None, "", "all") else [selection]
    return [load_environment(name) for name in names]


def build_app(environments: list[EnvironmentConfig], outdir: str | None = None) -> cdk.App:
    """Each environment as a stage of its own (what `cdk deploy -c env=<name>` deploys)."""
    import aws_cdk as cdk

    from stacks.environment_stage import EnvironmentStage

    app = cdk.App(context=cdk_json_context(), outdir=outdir)
    for config in environments:
        EnvironmentStage(app, config)
    return app


def build_delivery_app(delivery: DeliveryConfig, environments: list[EnvironmentConfig], outdir: str | None = None) -> cdk.App:
    """The delivery pipeline, with the environments it promotes through as its stages."""
    import aws_cdk as cdk
    from cdk_nag import AwsSolutionsChecks

    from stacks.delivery_stack import DeliveryStack

    app = cdk.App(context=cdk_json_context(), outdir=outdir)
    stage = cdk.Stage(app, "Delivery", env=cdk.Environment(account=delivery.account, region=delivery.region))
    DeliveryStack(stage, "Pipeline", delivery=delivery, environments=environments, stack_name="delivery-pipeline")
    cdk.Validations.of(stage).add_plugins(AwsSolutionsChecks(stage))
    return app


def main() -> int:
    selection = json.loads(os.environ.get("CDK_CONTEXT_JSON", "{}")).get("env")
    try:
        if selection or not (CONFIG_DIR / f"{DELIVERY}.yaml").is_file():
            app = build_app(selected_environments(selection))
        else:
            delivery = load_delivery()
            app = build_delivery_app(delivery, [load_environment(name) for name in delivery.stages])
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
