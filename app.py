#!/usr/bin/env python3
"""The CDK app: one Stage per environment in ``config/``.

``cdk synth`` builds every environment; ``cdk synth -c env=dev`` builds one.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

# jsii warns on every start under Node 20; the project supports the Node the machine has.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from config import ConfigError, EnvironmentConfig, available_environments, load_environment

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
    import aws_cdk as cdk

    from stacks.environment_stage import EnvironmentStage

    app = cdk.App(context=cdk_json_context(), outdir=outdir)
    for config in environments:
        EnvironmentStage(app, config)
    return app


def main() -> int:
    selection = json.loads(os.environ.get("CDK_CONTEXT_JSON", "{}")).get("env")
    try:
        environments = selected_environments(selection)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    build_app(environments).synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
