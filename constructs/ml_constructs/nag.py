"""cdk-nag acknowledgments that travel with the grant that needs them.

A prefix-scoped grant (``bucket/training/*``) is the narrowest S3 permission there is, but
AwsSolutions-IAM5 reports every ``*`` in a resource. The construct that writes such a statement
knows why it is scoped the way it is, so it records the acknowledgment itself, for that exact
resource string and nothing broader.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations

from constructs import IConstruct


def acknowledge_wildcard_resource(scope: IConstruct, resource: str, reason: str) -> None:
    """Acknowledge AwsSolutions-IAM5 for one literal resource ARN on ``scope``'s policies.

    Tokens (unresolved ARNs) are never acknowledged: their rendering is only known after
    synthesis, and a finding that cannot be matched exactly must stay visible.
    """
    if _is_token(resource):
        return
    Validations.of(scope).acknowledge(Acknowledgment(id=f"AwsSolutions::AwsSolutions-IAM5[Resource::{resource}]", reason=reason))


def _is_token(text: str) -> bool:
    """``Token.is_unresolved`` for a string, without a round trip to jsii: CDK encodes a string
    token as ``${Token[...]}`` and a list token as ``#{Token[...]}``; a string with neither marker
    is a literal (aws-cdk-lib core/lib/private/encoding.ts)."""
    return "${Token[" in text or "#{Token[" in text


def partition_of(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def acknowledge_api(scope: IConstruct, auth: str, waf: bool) -> None:
    """The AwsSolutions API Gateway findings that are choices of the prediction API, each with its reason."""
    reasons = {
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]": (
            "API Gateway's account-level CloudWatch role: AWS's managed policy is the one the API Gateway guide documents "
            "for execution logs, and it writes only API Gateway's own log groups."
        ),
    }
    reasons["AwsSolutions-APIG2"] = (
        "Parameters are validated (Content-Type is required); body validation checks JSON against a JSON-schema model, and "
        "the body is CSV: its content type is enforced by the text/csv template (others get 415) and its size by API "
        "Gateway and SageMaker, the rows by the model."
    )
    if auth != "cognito":
        reasons["AwsSolutions-COG4"] = (
            f"The method authorizes with {auth} (the environment's inference.api.auth), not a Cognito user pool: "
            "callers are AWS principals signing with SigV4 or applications holding an API key."
        )
    if auth in ("api_key", "none"):
        reasons["AwsSolutions-APIG4"] = (
            "API keys with usage plans identify and limit each partner application (inference.api.auth api_key), or the "
            "environment's config opens the API on purpose (open_to_anyone)."
        )
    if not waf:
        reasons["AwsSolutions-APIG3"] = (
            "The WAF web ACL is an option of the environment's config (inference.api.waf); stage and usage-plan "
            "throttling limit callers without it."
        )
    for rule, reason in reasons.items():
        Validations.of(scope).acknowledge(Acknowledgment(id=f"AwsSolutions::{rule}", reason=reason))
