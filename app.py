#!/usr/bin/env python3
"""The CDK app: one Stage per environment in ``config/``.

``cdk synth`` builds every environment, each on its own (what ``cdk deploy`` by hand deploys);
``cdk synth -c env=dev`` builds one; ``cdk synth -c delivery=true`` builds the delivery pipeline
(``config/delivery.yaml``) with the environments it promotes through as its stages.
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


def new_app(outdir: str | None) -> cdk.App:
    import aws_cdk as cdk

    context = cdk_json_context()
    # CDK's built-in CloudFormation validation takes about 2 of the 2.5 seconds of synth here;
    # cfn-lint in the test suite checks the same templates against the full resource schemas.
    # cdk.json's "builtin-cloudformation-validation": true turns it back on.
    builtin_validation = context.get("builtin-cloudformation-validation") is True
    return cdk.App(context=context, outdir=outdir, builtin_cloud_formation_validation=builtin_validation)


def build_app(environments: list[EnvironmentConfig], outdir: str | None = None, local_emulator: bool = False) -> cdk.App:
    """Each environment as a stage of its own (what `cdk deploy -c env=<name>` deploys).

    ``local_emulator``: templates for the local AWS emulator (scripts/local_deploy.py), which
    cannot evaluate CDK's bootstrap-version rule.
    """
    from stacks.environment_stage import EnvironmentStage

    app = new_app(outdir)
    for config in environments:
        EnvironmentStage(app, config, local_emulator=local_emulator)
    return app


def build_delivery_app(delivery: DeliveryConfig, environments: list[EnvironmentConfig], outdir: str | None = None) -> cdk.App:
    """The delivery pipeline, with the environments it promotes through as its stages."""
    import aws_cdk as cdk
    from cdk_nag import AwsSolutionsChecks

    from stacks.delivery_stack import DeliveryStack

    app = new_app(outdir)
    stage = cdk.Stage(app, "Delivery", env=cdk.Environment(account=delivery.account, region=delivery.region))
    DeliveryStack(stage, "Pipeline", delivery=delivery, environments=environments, stack_name="delivery-pipeline")
    cdk.Validations.of(stage).add_plugins(AwsSolutionsChecks(stage))
    return app


def main() -> int:
    context = json.loads(os.environ.get("CDK_CONTEXT_JSON", "{}"))
    try:
        if str(context.get("delivery", "")).lower() == "true":
            delivery = load_delivery()
            app = build_delivery_app(delivery, [load_environment(name) for name in delivery.stages])
        else:
            local_emulator = str(context.get("local-emulator", "")).lower() == "true"
            app = build_app(selected_environments(context.get("env")), local_emulator=local_emulator)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
