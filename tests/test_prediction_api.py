"""The prediction API: what it answers (its mapping templates rendered offline), how it is built, and AWS's references.

SageMaker Runtime's side comes from botocore's model (InvokeEndpoint's method, path, endpoint prefix,
error shapes and their status codes); IAM's from the Service Authorization Reference; API Gateway's
behaviour from ml_constructs.aws_facts.apigateway.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import botocore.session
import pytest
from aws_cdk import aws_kms as kms
from cdk_nag import AwsSolutionsChecks

from app import new_app
from ml_constructs import prediction_mapping as mapping
from ml_constructs.aws_facts import apigateway as facts
from ml_constructs.prediction_api import (
    ACCESS_LOG_FIELDS,
    GATEWAY_RESPONSES,
    ApiClientPlan,
    ApiThrottle,
    PredictionApi,
    PredictionApiProps,
    WafRateRule,
    access_log_group_name,
)
from stacks.inference_stack import prediction_api_name
from tests.conftest import SynthesizedEnvironment, SynthesizedStack
from tests.support.iam_reference import arn_matches_format, reference
from tests.support.vtl import interpolate, render

RUNTIME = botocore.session.get_session().get_service_model("sagemaker-runtime")
INVOKE = RUNTIME.operation_model("InvokeEndpoint")
ERROR_STATUS = {shape.name: shape.metadata["error"]["httpStatusCode"] for shape in INVOKE.error_shapes}
THROTTLING_STATUS = 400
"""ThrottlingException is not in the operation's model: it is one of AWS's common errors (HTTP 400)."""
RULE_BY_PATTERN = {rule.selection_pattern: rule for rule in mapping.INTEGRATION_RULES}


def rule_for(status: int) -> mapping.IntegrationRule:
    """The integration response API Gateway picks for an integration status (full-match of each pattern)."""
    matching = [r for r in mapping.INTEGRATION_RULES if r.selection_pattern and re.fullmatch(r.selection_pattern, str(status))]
    assert len(matching) <= 1, f"{status} matches several patterns: {[r.selection_pattern for r in matching]}"
    return matching[0] if matching else RULE_BY_PATTERN[None]


def answer(status: int, body: dict[str, Any]) -> tuple[int, Any]:
    """What a caller gets when SageMaker answers ``status`` with ``body``: (status, parsed body)."""
    rule = rule_for(status)
    if rule.template is None:
        return int(rule.status_code), json.dumps(body)
    rendered = render(rule.template, body=json.dumps(body), request_id="5e1c0f0e-example")
    return rendered.status_override or int(rule.status_code), rendered.json()


# --- the answers, rendered from the templates ---------------------------------------------------

XGBOOST_BAD_ROW = (
    "Loading csv data failed with Exception, please ensure data is in csv format:\n <class 'ValueError'>\n"
    " could not convert string to float: 'abc'\nStack trace:\n  [bt] (0) /miniconda3/lib/libxgboost.so(+0x1a2b3c) [0x7f]\n"
)
ACCOUNT = "111111111111"
LOG_STREAM = f"arn:aws:logs:eu-west-1:{ACCOUNT}:log-group:/aws/sagemaker/Endpoints/mlops-dev-xgboost"


def model_error(original_status: int, original_message: str) -> dict[str, Any]:
    """A ModelError body with every member botocore declares for it."""
    return {
        "ErrorCode": "CLIENT_ERROR_FROM_MODEL" if original_status < 500 else "SERVER_ERROR_FROM_MODEL",
        "Message": f'Received client error ({original_status}) from primary with message "{original_message}". See {LOG_STREAM} '
        f"in account {ACCOUNT} for more information.",
        "OriginalStatusCode": original_status,
        "OriginalMessage": original_message,
        "LogStreamArn": LOG_STREAM,
    }


def test_model_error_body_has_the_members_botocore_declares() -> None:
    (shape,) = [s for s in INVOKE.error_shapes if s.name == "ModelError"]
    assert set(model_error(400, "x")) - {"ErrorCode"} == set(shape.members)


def test_a_bad_row_stays_a_4xx_with_the_models_message_and_no_internals() -> None:
    status, body = answer(ERROR_STATUS["ModelError"], model_error(400, XGBOOST_BAD_ROW))
    assert status == 400
    assert body["message"].startswith("the model refused the input: Loading csv data failed with Exception")
    assert "could not convert string to float: 'abc'" in body["message"]
    assert "Stack trace" not in body["message"]
    assert "libxgboost" not in body["message"]
    assert ACCOUNT not in json.dumps(body)
    assert "log-group" not in json.dumps(body)
    assert body["requestId"] == "5e1c0f0e-example"


@pytest.mark.parametrize("original", [415, 406, 413])
def test_the_models_own_4xx_status_is_kept(original: int) -> None:
    status, body = answer(ERROR_STATUS["ModelError"], model_error(original, 'unsupported "thing"\ttab'))
    assert status == original
    assert body["message"] == 'the model refused the input: unsupported "thing"\ttab'


def test_a_model_failure_is_a_502_without_its_message() -> None:
    status, body = answer(ERROR_STATUS["ModelError"], model_error(500, "worker died: /opt/ml/model secret path"))
    assert status == 502
    assert "/opt/ml" not in body["message"]


@pytest.mark.parametrize(
    ("sagemaker_status", "message", "expected_status", "says"),
    [
        (THROTTLING_STATUS, "Rate exceeded", 429, "too many requests"),
        (ERROR_STATUS["ModelNotReadyException"], "Model is not ready", 429, "not ready"),
        (
            ERROR_STATUS["ValidationError"],
            "1 validation error detected: Value at 'body' failed to satisfy constraint: Member must have length less than or "
            f"equal to {INVOKE.input_shape.members['Body'].metadata['max']}",
            413,
            "larger than the model accepts (6 MB)",
        ),
        (
            ERROR_STATUS["ValidationError"],
            "1 validation error detected: Value at 'body' failed to satisfy constraint: Member must not be null",
            400,
            "the body is empty",
        ),
        (ERROR_STATUS["ValidationError"], f"Endpoint mlops-dev-xgboost of account {ACCOUNT} not found.", 503, "not available"),
        (ERROR_STATUS["ValidationError"], "Inference Component Name header is required", 400, "invalid request"),
        (ERROR_STATUS["InternalFailure"], "An internal error occurred", 502, "failed"),
        (ERROR_STATUS["ServiceUnavailable"], "Service unavailable", 502, "failed"),
        (ERROR_STATUS["InternalDependencyException"], "dependency", 502, "failed"),
        (403, f"User: arn:aws:sts::{ACCOUNT}:assumed-role/x is not authorized", 502, "could not call the model"),
    ],
)
def test_sagemakers_answers_become_honest_statuses(sagemaker_status: int, message: str, expected_status: int, says: str) -> None:
    for key in ("message", "Message"):  # rest-json errors carry either spelling
        status, body = answer(sagemaker_status, {key: message})
        assert (status, says in body["message"]) == (expected_status, True), body
        assert ACCOUNT not in json.dumps(body)


def test_predictions_pass_through_unchanged() -> None:
    rule = rule_for(200)
    assert rule.template is None
    assert rule.status_code == "200"
    assert render(mapping.REQUEST_TEMPLATE, body="1.5,2,,3\n4,5,6,7\n").body == "1.5,2,,3\n4,5,6,7\n"


def test_every_status_sagemaker_can_answer_has_exactly_one_rule() -> None:
    for status in range(400, 600):
        rule_for(status)  # asserts at most one pattern matches
    for name, status in {**ERROR_STATUS, "ThrottlingException": THROTTLING_STATUS}.items():
        assert rule_for(status).selection_pattern is not None, f"{name} ({status}) would fall to the 200 response"
    assert all(rule_for(status).selection_pattern for status in range(400, 600))
    assert {rule_for(s).status_code for s in range(200, 300)} == {"200"}


def test_every_status_a_rule_can_answer_is_declared_on_the_method() -> None:
    declared = set(mapping.METHOD_STATUS_CODES)
    assert {rule.status_code for rule in mapping.INTEGRATION_RULES} <= declared
    overrides = {int(s) for t in (mapping.VALIDATION_TEMPLATE, mapping.MODEL_ERROR_TEMPLATE) for s in re.findall(r"status = (\d+)", t)}
    assert {str(s) for s in overrides} <= declared
    assert {status for status, _ in GATEWAY_RESPONSES.values()} <= declared


@pytest.mark.parametrize("response_type", sorted(GATEWAY_RESPONSES))
def test_api_gateways_own_answers_are_json_with_the_request_id(response_type: str) -> None:
    status, message = GATEWAY_RESPONSES[response_type]
    template = '{"message": "' + message + '", ' + mapping.REQUEST_ID + "}"
    body = json.loads(interpolate(template, {"context": {"requestId": "r-1"}}))
    assert body == {"message": message, "requestId": "r-1"}
    assert status in ("400", "413", "415", "429")


def test_the_documented_limits_are_the_services() -> None:
    assert INVOKE.input_shape.members["Body"].metadata["max"] == 6 * 1024 * 1024 < facts.PAYLOAD_LIMIT_BYTES
    assert "6 MB" in mapping.VALIDATION_TEMPLATE
    assert "10 MB" in GATEWAY_RESPONSES["REQUEST_TOO_LARGE"][1]


# --- the synthesized API -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def inference(dev: SynthesizedEnvironment) -> SynthesizedStack:
    return dev["Inference"]


def test_dev_serves_post_predictions_with_sigv4(inference: SynthesizedStack) -> None:
    method = inference.resource("AWS::ApiGateway::Method")["Properties"]
    assert (method["HttpMethod"], method["AuthorizationType"]) == ("POST", "AWS_IAM")
    (resource,) = inference.resources("AWS::ApiGateway::Resource").values()
    assert resource["Properties"]["PathPart"] == mapping.RESOURCE
    assert method["RequestParameters"] == {"method.request.header.Content-Type": True}
    validator = inference.resource("AWS::ApiGateway::RequestValidator")["Properties"]
    assert validator["ValidateRequestParameters"] is True


def test_the_integration_is_invoke_endpoint_as_botocore_describes_it(dev: SynthesizedEnvironment, inference: SynthesizedStack) -> None:
    integration = inference.resource("AWS::ApiGateway::Method")["Properties"]["Integration"]
    assert integration["Type"] == "AWS"  # an AWS service integration: no Lambda in between
    assert integration["IntegrationHttpMethod"] == INVOKE.http["method"]
    uri = integration["Uri"]
    prefix = f"arn:aws:apigateway:{dev.config.region}:{RUNTIME.metadata['endpointPrefix']}:path"
    assert uri.startswith(prefix), (uri, facts.AWS_INTEGRATION_URI.url)
    path = "/" + uri.removeprefix(prefix).lstrip("/")
    assert path == INVOKE.http["requestUri"].replace("{EndpointName}", dev.config.endpoint_name)
    headers = {k.rsplit(".", 1)[1]: v for k, v in integration["RequestParameters"].items()}
    botocore_headers = {m.serialization.get("name") for m in INVOKE.input_shape.members.values()}
    assert set(headers) <= botocore_headers
    assert headers == {"Content-Type": "'text/csv'", "Accept": "'text/csv'"}
    assert integration["PassthroughBehavior"] == "NEVER"  # other content types: 415 (facts.PASSTHROUGH_NEVER)
    assert integration["RequestTemplates"] == {"text/csv": mapping.REQUEST_TEMPLATE}
    assert integration["TimeoutInMillis"] <= facts.INTEGRATION_TIMEOUT_MS
    responses = {r.get("SelectionPattern"): r for r in integration["IntegrationResponses"]}
    for rule in mapping.INTEGRATION_RULES:
        synthesized = responses[rule.selection_pattern]
        assert synthesized["StatusCode"] == rule.status_code
        assert synthesized.get("ResponseTemplates", {}).get("application/json") == rule.template


def test_the_invoke_role_may_call_only_this_endpoint(dev: SynthesizedEnvironment, inference: SynthesizedStack) -> None:
    integration = inference.resource("AWS::ApiGateway::Method")["Properties"]["Integration"]
    role = integration["Credentials"]["Fn::GetAtt"][0]
    trust = inference.template["Resources"][role]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "apigateway.amazonaws.com"}]
    policies = [p for p in inference.resources("AWS::IAM::Policy").values() if {"Ref": role} in p["Properties"]["Roles"]]
    statements = [s for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"]]
    endpoint_arn = f"arn:aws:sagemaker:{dev.config.region}:{dev.config.account}:endpoint/{dev.config.endpoint_name}"
    assert statements == [{"Action": "sagemaker:InvokeEndpoint", "Effect": "Allow", "Resource": endpoint_arn}]
    sar = reference()
    (endpoint_type,) = sar.resource_types("sagemaker:InvokeEndpoint")[:1]
    assert endpoint_type.name == "endpoint"
    assert arn_matches_format(endpoint_arn, endpoint_type.arn_format)


def test_the_stage_throttles_traces_and_logs_json_to_a_kms_log_group(dev: SynthesizedEnvironment, inference: SynthesizedStack) -> None:
    stage = inference.resource("AWS::ApiGateway::Stage")["Properties"]
    api = dev.config.inference.api
    assert stage["StageName"] == mapping.STAGE
    assert stage["TracingEnabled"] is True
    (settings,) = stage["MethodSettings"]
    assert (settings["ThrottlingRateLimit"], settings["ThrottlingBurstLimit"]) == (api.throttle.rate_limit_rps, api.throttle.burst_limit)
    assert settings["DataTraceEnabled"] is False, "execution logs must not carry request bodies (features)"
    access_format = json.loads(stage["AccessLogSetting"]["Format"])
    assert {"requestId", "caller", "status", "latencyMs", "integrationLatencyMs"} <= set(access_format)
    assert access_format == ACCESS_LOG_FIELDS
    log_group = inference.resource("AWS::Logs::LogGroup")["Properties"]
    assert log_group["LogGroupName"] == access_log_group_name(prediction_api_name(dev.config.prefix))
    assert "KmsKeyId" in log_group
    assert log_group["RetentionInDays"] == api.access_log_retention_days


def test_the_data_key_lets_cloudwatch_logs_encrypt_the_access_logs(dev: SynthesizedEnvironment) -> None:
    (data_key,) = [key for logical_id, key in dev["Data"].resources("AWS::KMS::Key").items() if logical_id.startswith("DataKey")]
    key_policy = json.dumps(data_key["Properties"]["KeyPolicy"])
    assert access_log_group_name(prediction_api_name(dev.config.prefix)) in key_policy


def test_the_url_is_an_output(inference: SynthesizedStack) -> None:
    assert "PredictionApiUrl" in inference.template["Outputs"]


def test_prod_has_no_api_until_it_is_configured(prod: SynthesizedEnvironment) -> None:
    assert not prod["Inference"].resources("AWS::ApiGateway::RestApi")
    assert not [a for a in prod["Monitoring"].resources("AWS::CloudWatch::Alarm").values() if "api-" in a["Properties"]["AlarmName"]]


def test_monitoring_alarms_on_the_api_by_its_name(dev: SynthesizedEnvironment) -> None:
    alarms = {a["Properties"]["AlarmName"]: a["Properties"] for a in dev["Monitoring"].resources("AWS::CloudWatch::Alarm").values()}
    prefix = dev.config.prefix
    expected = {f"{prefix}-api-5xx-error-rate", f"{prefix}-api-p99-integration-latency", f"{prefix}-api-4xx-error-rate"}
    assert expected <= set(alarms)
    latency = alarms[f"{prefix}-api-p99-integration-latency"]
    # A labelled metric is rendered as a one-entry Metrics list.
    stat = latency["Metrics"][0]["MetricStat"] if "Metrics" in latency else latency
    metric = stat.get("Metric", stat)
    assert metric["MetricName"] == "IntegrationLatency"
    assert stat.get("Stat", stat.get("ExtendedStatistic")) == "p99"
    assert {d["Name"]: d["Value"] for d in metric["Dimensions"]} == {"ApiName": prediction_api_name(prefix), "Stage": mapping.STAGE}
    assert latency["Threshold"] == dev.config.inference.api.alarms.p99_integration_latency_ms
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for name in expected:
        slug = name.removeprefix(f"{prefix}-")
        assert f"#{slug}" in alarms[name]["AlarmDescription"]
        assert f"\n#### {slug}\n" in readme, f"README has no runbook entry for {slug}"


# --- the construct's options ---------------------------------------------------------------------


def api_stack(tmp_path: Path, **changes: Any) -> dict[str, Any]:
    """Synthesize one PredictionApi with cdk-nag on (a finding fails synth) and return its template."""
    app = new_app(str(tmp_path))  # the project's feature flags and validation settings, as `cdk synth`
    stage = cdk.Stage(app, "probe", env=cdk.Environment(account="111111111111", region="eu-west-1"))
    stack = cdk.Stack(stage, "Api")
    props = {
        "api_name": "probe-predictions",
        "endpoint_name": "probe-xgboost",
        "encryption_key": kms.Key(stack, "Key", enable_key_rotation=True),
        "throttle": ApiThrottle(50, 100),
    } | changes
    PredictionApi(stack, "PredictionApi", PredictionApiProps(**props))
    cdk.Validations.of(stage).add_plugins(AwsSolutionsChecks(stage))
    assembly = app.synth()
    return assembly.get_nested_assembly("assembly-probe").get_stack_by_name("probe-Api").template


def test_api_keys_get_one_usage_plan_each_with_quota_and_throttle(tmp_path: Path) -> None:
    clients = [ApiClientPlan("partner-a", 10000, ApiThrottle(5, 10)), ApiClientPlan("partner-b", 500, ApiThrottle(1, 2))]
    template = api_stack(tmp_path, auth="api_key", clients=clients)
    resources = template["Resources"].values()
    method = next(r for r in resources if r["Type"] == "AWS::ApiGateway::Method")["Properties"]
    assert method["ApiKeyRequired"] is True
    assert method["AuthorizationType"] == "NONE"
    plans = {r["Properties"]["UsagePlanName"]: r["Properties"] for r in resources if r["Type"] == "AWS::ApiGateway::UsagePlan"}
    assert plans["probe-predictions-partner-a"]["Quota"] == {"Limit": 10000, "Period": "DAY"}
    assert plans["probe-predictions-partner-b"]["Throttle"] == {"BurstLimit": 2, "RateLimit": 1}
    assert len([r for r in resources if r["Type"] == "AWS::ApiGateway::UsagePlanKey"]) == 2
    assert "Value" not in json.dumps([r for r in resources if r["Type"] == "AWS::ApiGateway::ApiKey"]), "key values are generated"


def test_a_waf_rate_rule_guards_the_stage(tmp_path: Path) -> None:
    template = api_stack(tmp_path, waf=WafRateRule(rate_limit=500, window_seconds=60))
    (acl,) = [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::WAFv2::WebACL"]
    assert acl["Scope"] == "REGIONAL"
    rate = acl["Rules"][0]["Statement"]["RateBasedStatement"]
    assert (rate["Limit"], rate["EvaluationWindowSec"], rate["AggregateKeyType"]) == (500, 60, "IP")
    (association,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::WAFv2::WebACLAssociation"]
    assert ":apigateway:" in json.dumps(association["Properties"]["ResourceArn"])
    assert "/stages/" in json.dumps(association)


def test_a_cognito_authorizer_checks_tokens_of_the_pool(tmp_path: Path) -> None:
    pool = "arn:aws:cognito-idp:eu-west-1:111111111111:userpool/eu-west-1_AbCdEf123"
    template = api_stack(tmp_path, auth="cognito", cognito_user_pool_arn=pool)
    (authorizer,) = [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::ApiGateway::Authorizer"]
    assert authorizer["Type"] == "COGNITO_USER_POOLS"
    assert authorizer["ProviderARNs"] == [pool]


def test_an_open_api_only_when_asked_for_by_name(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="'none' needs open_to_anyone=True"):
        PredictionApiProps(api_name="a", endpoint_name="e", encryption_key=None, throttle=ApiThrottle(1, 1), auth="none")  # type: ignore[arg-type]
    template = api_stack(tmp_path, auth="none", open_to_anyone=True)
    method = next(r for r in template["Resources"].values() if r["Type"] == "AWS::ApiGateway::Method")["Properties"]
    assert method["AuthorizationType"] == "NONE"
    assert "ApiKeyRequired" not in method
