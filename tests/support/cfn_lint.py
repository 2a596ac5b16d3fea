"""cfn-lint over a synthesized template, with the rules loaded once per region and process.

``cfnlint.api.lint`` loads its ~300 rules on every call, about as long as checking a template;
a ``Runner`` keeps them. The findings are the same: the Runner is what ``lint`` builds.
cfn-lint is imported on first use: every test worker collects the modules that import this one.
"""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cfnlint.rules import Match
    from cfnlint.runner import Runner

# cfn-lint findings we accept, each with the reason (errors are never ignored).
IGNORED_CFN_LINT_RULES: dict[str, str] = {
    "W3005": "aws-cdk-lib's StateMachine adds DependsOn on its role next to the GetAtt that already orders them; "
    "redundant, not wrong, and not ours to change in generated output.",
}


@functools.cache
def _runner(region: str) -> Runner:
    from cfnlint.config import ConfigMixIn, ManualArgs
    from cfnlint.runner import Runner

    return Runner(ConfigMixIn(**ManualArgs(regions=[region], ignore_checks=list(IGNORED_CFN_LINT_RULES))))


def lint_template(template: dict[str, Any], region: str) -> list[Match]:
    """Every cfn-lint match on ``template`` for ``region`` (errors, warnings and informational)."""
    from cfnlint.decode.decode import decode_str

    decoded, errors = decode_str(json.dumps(template))
    if errors:
        return list(errors)
    return list(_runner(region).validate_template(decoded))
