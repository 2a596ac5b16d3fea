"""A REST API in front of a SageMaker endpoint: ``POST /predictions``, text/csv rows in, one probability per row out.

API Gateway calls SageMaker Runtime's InvokeEndpoint itself (an AWS service integration, no Lambda
in the request path) with a role that may invoke this one endpoint. Secure by default: IAM (SigV4)
authorization, stage throttling, JSON access logs in a KMS-encrypted log group, X-Ray tracing,
execution logs at ERROR without bodies (features may be personal data). API keys with per-client
usage plans, a Cognito authorizer, a WAF rate rule and - only when asked for by name - an open
endpoint are options. What each answer means is ``ml_constructs.prediction_mapping``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from aws_cdk import ArnFormat, CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs

from constructs import Construct
from ml_constructs.aws_facts.apigateway import INTEGRATION_TIMEOUT_MS
from ml_constructs.checkov import skip_checkov
from ml_constructs.encryption import allow_log_group_encryption
from ml_constructs.monitoring.metrics import ApiMetrics
from ml_constructs.nag import acknowledge_api
from ml_constructs.prediction_mapping import (
    CONTENT_TYPE,
    ERROR_CONTENT_TYPE,
    INTEGRATION_RULES,
    METHOD_STATUS_CODES,
    REQUEST_ID,
    REQUEST_TEMPLATE,
    RESOURCE,
    STAGE,
)

Auth = Literal["iam", "api_key", "cognito", "none"]
SAGEMAKER_RUNTIME = "runtime.sagemaker"
"""botocore's ``endpointPrefix`` of SageMaker Runtime: the integration URI's service (aws_facts.apigateway.AWS_INTEGRATION_URI)."""

ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "extendedRequestId": "$context.extendedRequestId",
    "requestTime": "$context.requestTime",
    "ip": "$context.identity.sourceIp",
    "caller": "$context.identity.caller",
    "user": "$context.identity.userArn",
    "apiKeyId": "$context.identity.apiKeyId",
    "subject": "$context.authorizer.claims.sub",
    "method": "$context.httpMethod",
    "path": "$context.resourcePath",
    "status": "$context.status",
    "requestLength": "$context.requestLength",
    "responseLength": "$context.responseLength",
    "latencyMs": "$context.responseLatency",
    "integrationLatencyMs": "$context.integration.latency",
    "integrationStatus": "$context.integration.status",
    "errorType": "$context.error.responseType",
    "error": "$context.error.message",
    "wafStatus": "$context.waf.status",
}
"""One JSON object per request: who called (IAM caller, API key or token subject), what it got, how long it took."""

# Answers API Gateway gives before any integration runs, in the same shape as the integration's
# (aws_facts.apigateway.GATEWAY_RESPONSE_TEMPLATES: substitution only; messageString is quoted JSON).
GATEWAY_RESPONSES: dict[str, tuple[str, str]] = {
    "UNSUPPORTED_MEDIA_TYPE": ("415", "unsupported content type: send text/csv rows (Content-Type: text/csv)"),
    "REQUEST_TOO_LARGE": ("413", "the body is larger than API Gateway accepts (10 MB): send fewer rows per request"),
    "THROTTLED": ("429", "too many requests: retry with exponential backoff"),
    "QUOTA_EXCEEDED": ("429", "this API key's quota is spent for the period"),
    "BAD_REQUEST_PARAMETERS": ("400", "invalid request: send Content-Type: text/csv"),
}


@dataclass(frozen=True)
class ApiThrottle:
    rate_limit_rps: float
    burst_limit: int

    def __post_init__(self) -> None:
        if self.rate_limit_rps <= 0 or self.burst_limit < 1:
            raise ValueError(
                f"ApiThrottle: rate_limit_rps ({self.rate_limit_rps}) must be positive and burst_limit ({self.burst_limit}) at least 1"
            )


@dataclass(frozen=True)
class ApiClientPlan:
    """One application's API key and usage plan."""

    name: str
    quota_per_day: int
    throttle: ApiThrottle


@dataclass(frozen=True)
class WafRateRule:
    rate_limit: int
    window_seconds: int = 300


@dataclass(frozen=True)
class PredictionApiProps:
    api_name: str
    """Stable: the alarms (another stack) name the API by it."""
    endpoint_name: str
    encryption_key: kms.IKey
    """Encrypts the access logs; its key policy is extended for that one log group."""
    throttle: ApiThrottle
    auth: Auth = "iam"
    open_to_anyone: bool = False
    """Required with auth none, so that an open API is never an accident."""
    clients: Sequence[ApiClientPlan] = field(default_factory=tuple)
    cognito_user_pool_arn: str | None = None
    waf: WafRateRule | None = None
    log_retention_days: int = 365
    retain_logs: bool = True

    def __post_init__(self) -> None:
        if self.auth == "none" and not self.open_to_anyone:
            raise ValueError("PredictionApiProps.auth: 'none' needs open_to_anyone=True (anyone with the URL could call the model)")
        if self.auth == "api_key" and not self.clients:
            raise ValueError("PredictionApiProps.clients: give at least one client with auth 'api_key'")
        if self.clients and self.auth != "api_key":
            raise ValueError(f"PredictionApiProps.clients: only with auth 'api_key' (auth is {self.auth!r})")
        if (self.auth == "cognito") != (self.cognito_user_pool_arn is not None):
            raise ValueError("PredictionApiProps.cognito_user_pool_arn: set exactly when auth is 'cognito'")


def access_log_group_name(api_name: str) -> str:
    return f"/aws/apigateway/{api_name}/access"


class PredictionApi(Construct):
    def __init__(self, scope: Construct, construct_id: str, props: PredictionApiProps) -> None:
        super().__init__(scope, construct_id)
        self.props = props
        stack = Stack.of(self)
        self.metrics = ApiMetrics(props.api_name, STAGE)

        # A literal name: the key policy (in the key's stack) names the log group it may encrypt.
        log_group_name = access_log_group_name(props.api_name)
        allow_log_group_encryption(props.encryption_key, [log_group_name])
        self.access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            log_group_name=log_group_name,
            encryption_key=props.encryption_key,
            removal_policy=RemovalPolicy.RETAIN if props.retain_logs else RemovalPolicy.DESTROY,
        )
        # Any retention CloudWatch Logs accepts (config checks it against botocore's list); the
        # L2's enum names only some of them.
        cfn_logs = self.access_logs.node.default_child
        assert isinstance(cfn_logs, logs.CfnLogGroup)
        cfn_logs.retention_in_days = props.log_retention_days
        self.api = apigateway.RestApi(
            self,
            "Api",
            rest_api_name=props.api_name,
            description=f"Predictions of the {props.endpoint_name} endpoint: POST /{RESOURCE} with text/csv rows",
            endpoint_types=[apigateway.EndpointType.REGIONAL],
            # Execution logs need the account's API Gateway CloudWatch role; one environment per account here.
            cloud_watch_role=True,
            cloud_watch_role_removal_policy=RemovalPolicy.RETAIN,
            deploy_options=apigateway.StageOptions(
                stage_name=STAGE,
                throttling_rate_limit=props.throttle.rate_limit_rps,
                throttling_burst_limit=props.throttle.burst_limit,
                tracing_enabled=True,
                metrics_enabled=True,
                logging_level=apigateway.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,
                access_log_destination=apigateway.LogGroupLogDestination(self.access_logs),
                access_log_format=apigateway.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FIELDS, separators=(",", ":"))),
            ),
        )
        for response_type, (status, message) in GATEWAY_RESPONSES.items():
            self.api.add_gateway_response(
                response_type.title().replace("_", ""),
                type=getattr(apigateway.ResponseType, response_type),
                status_code=status,
                templates={ERROR_CONTENT_TYPE: '{"message": "' + message + '", ' + REQUEST_ID + "}"},
            )
        # Everything else API Gateway refuses (authentication, an unknown path) keeps its status and
        # its own message: they say what is wrong and name nothing internal.
        for name, response_type in (
            ("Default4xx", apigateway.ResponseType.DEFAULT_4_XX),
            ("Default5xx", apigateway.ResponseType.DEFAULT_5_XX),
        ):
            self.api.add_gateway_response(
                name,
                type=response_type,
                templates={ERROR_CONTENT_TYPE: '{"message": $context.error.messageString, ' + REQUEST_ID + "}"},
            )

        self.invoke_role = iam.Role(
            self,
            "InvokeRole",
            assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
            description=f"API Gateway calls the {props.endpoint_name} endpoint, and nothing else",
        )
        endpoint_arn = stack.format_arn(service="sagemaker", resource="endpoint", resource_name=props.endpoint_name.lower())
        self.invoke_role.add_to_policy(iam.PolicyStatement(actions=["sagemaker:InvokeEndpoint"], resources=[endpoint_arn]))

        integration = apigateway.AwsIntegration(
            service=SAGEMAKER_RUNTIME,
            # botocore's InvokeEndpoint: POST /endpoints/{EndpointName}/invocations.
            path=f"endpoints/{props.endpoint_name}/invocations",
            integration_http_method="POST",
            options=apigateway.IntegrationOptions(
                credentials_role=self.invoke_role,
                passthrough_behavior=apigateway.PassthroughBehavior.NEVER,
                request_templates={CONTENT_TYPE: REQUEST_TEMPLATE},
                request_parameters={
                    "integration.request.header.Content-Type": f"'{CONTENT_TYPE}'",
                    "integration.request.header.Accept": f"'{CONTENT_TYPE}'",
                },
                timeout=Duration.millis(INTEGRATION_TIMEOUT_MS),
                integration_responses=[
                    apigateway.IntegrationResponse(
                        status_code=rule.status_code,
                        selection_pattern=rule.selection_pattern,
                        response_templates={ERROR_CONTENT_TYPE: rule.template} if rule.template else None,
                        response_parameters={"method.response.header.Content-Type": "integration.response.header.Content-Type"}
                        if rule.template is None
                        else None,
                    )
                    for rule in INTEGRATION_RULES
                ],
            ),
        )
        validator = self.api.add_request_validator(
            "ContentTypeRequired", request_validator_name="content-type-required", validate_request_parameters=True
        )
        self.method = self.api.root.add_resource(RESOURCE).add_method(
            "POST",
            integration,
            request_validator=validator,
            request_parameters={"method.request.header.Content-Type": True},
            method_responses=[
                apigateway.MethodResponse(
                    status_code=status,
                    response_parameters={"method.response.header.Content-Type": True} if status == "200" else None,
                )
                for status in METHOD_STATUS_CODES
            ],
            **self._authorization(props),
        )
        self._usage_plans(props)
        if props.waf:
            self._web_acl(props.waf)
        self.url = f"{self.api.url}{RESOURCE}"

        # cdk-nag and checkov findings that are choices, each with its reason.
        stage = self.api.deployment_stage
        skip_checkov(
            stage,
            "CKV_AWS_120",
            "Predictions are not cached: every body is a different set of rows, and a cached POST answer would be stale "
            "after a model update.",
        )
        acknowledge_api(self, props.auth, bool(props.waf))

    def _authorization(self, props: PredictionApiProps) -> dict[str, object]:
        if props.auth == "iam":
            return {"authorization_type": apigateway.AuthorizationType.IAM}
        if props.auth == "api_key":
            return {"authorization_type": apigateway.AuthorizationType.NONE, "api_key_required": True}
        if props.auth == "cognito":
            from aws_cdk import aws_cognito as cognito

            assert props.cognito_user_pool_arn is not None
            pool = cognito.UserPool.from_user_pool_arn(self, "UserPool", props.cognito_user_pool_arn)
            authorizer = apigateway.CognitoUserPoolsAuthorizer(self, "Authorizer", cognito_user_pools=[pool])
            return {"authorization_type": apigateway.AuthorizationType.COGNITO, "authorizer": authorizer}
        return {"authorization_type": apigateway.AuthorizationType.NONE}

    def _usage_plans(self, props: PredictionApiProps) -> None:
        self.api_keys: dict[str, apigateway.IApiKey] = {}
        for client in props.clients:
            plan = self.api.add_usage_plan(
                f"Plan-{client.name}",
                name=f"{props.api_name}-{client.name}",
                throttle=apigateway.ThrottleSettings(rate_limit=client.throttle.rate_limit_rps, burst_limit=client.throttle.burst_limit),
                quota=apigateway.QuotaSettings(limit=client.quota_per_day, period=apigateway.Period.DAY),
                api_stages=[apigateway.UsagePlanPerApiStage(api=self.api, stage=self.api.deployment_stage)],
            )
            # The key's value is generated by API Gateway and never appears in a template or output.
            key = self.api.add_api_key(f"Key-{client.name}", api_key_name=f"{props.api_name}-{client.name}")
            plan.add_api_key(key)
            self.api_keys[client.name] = key
            CfnOutput(
                self,
                f"ApiKeyId-{client.name}",
                value=key.key_id,
                description=f"aws apigateway get-api-key --include-value --api-key <this> ({client.name})",
            )

    def _web_acl(self, rule: WafRateRule) -> None:
        from aws_cdk import aws_wafv2 as wafv2

        visibility = lambda name: wafv2.CfnWebACL.VisibilityConfigProperty(  # noqa: E731
            cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
        )
        acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            # REGIONAL: a REST API's stage (aws_facts.apigateway.WAF_REGIONAL_SCOPE).
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=visibility(f"{self.props.api_name}-acl"),
            rules=[
                wafv2.CfnWebACL.RuleProperty(
                    name="rate-per-ip",
                    priority=0,
                    action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                            limit=rule.rate_limit, aggregate_key_type="IP", evaluation_window_sec=rule.window_seconds
                        )
                    ),
                    visibility_config=visibility(f"{self.props.api_name}-rate-per-ip"),
                ),
                wafv2.CfnWebACL.RuleProperty(
                    name="aws-known-bad-inputs",
                    priority=1,
                    override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                            vendor_name="AWS", name="AWSManagedRulesKnownBadInputsRuleSet"
                        )
                    ),
                    visibility_config=visibility(f"{self.props.api_name}-known-bad-inputs"),
                ),
            ],
        )
        stage_arn = Stack.of(self).format_arn(
            service="apigateway",
            account="",
            resource="/restapis",
            resource_name=f"{self.api.rest_api_id}/stages/{self.api.deployment_stage.stage_name}",
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )
        association = wafv2.CfnWebACLAssociation(self, "WebAclAssociation", resource_arn=stage_arn, web_acl_arn=acl.attr_arn)
        association.node.add_dependency(self.api.deployment_stage)

    def grant_invoke(self, grantee: iam.IGrantable) -> None:
        """Who may call ``POST /predictions`` with SigV4 (auth iam)."""
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(actions=["execute-api:Invoke"], resources=[self.method.method_arn])
        )
