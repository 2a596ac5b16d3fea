"""What the prediction API answers, as data: the mapping templates and which SageMaker answer each handles.

Free of aws_cdk, so that tests render the templates offline (tests/support/vtl.py) against the error
shapes botocore's SageMaker Runtime model declares, and the README's error table is checked against
the same rules.

SageMaker Runtime's answers to InvokeEndpoint (botocore's ``sagemaker-runtime`` model, error shapes
and their ``httpStatusCode``): ValidationError 400, ModelError 424 (the container's own status and
message in ``OriginalStatusCode`` / ``OriginalMessage``), ModelNotReadyException 429, InternalFailure
500, ServiceUnavailable 503, InternalDependencyException 530; throttling is the common
ThrottlingException (400). API Gateway picks an integration response by the integration's HTTP
status code (``aws_facts.apigateway.SELECTION_PATTERN``), so each rule below owns a disjoint set of
status codes, and a template may then set the status the caller sees
(``aws_facts.apigateway.RESPONSE_OVERRIDE``).

No answer passes SageMaker's ``Message`` on: it names the account and the endpoint, and links to
the log stream. Only the model's own message for a refused row is passed, without the native
backtrace XGBoost appends to it.
"""

from __future__ import annotations

from dataclasses import dataclass

STAGE = "v1"
"""One stage; a new contract would be a new stage (v2) beside it, so callers move when they choose."""
RESOURCE = "predictions"
CONTENT_TYPE = "text/csv"
ERROR_CONTENT_TYPE = "application/json"
REQUEST_ID = '"requestId": "$context.requestId"'
"""Every error names the request, so a caller's report finds its access log line."""

REQUEST_TEMPLATE = """## The rows go to the model unchanged: API Gateway has already refused other content types (415)
## and bodies over its own limit (413); SageMaker holds the body to its own limit.
$input.body"""


def _error(message: str) -> str:
    return '{"message": "' + message + '", ' + REQUEST_ID + "}"


# A SageMaker ValidationError or ThrottlingException (400): its message says which.
VALIDATION_TEMPLATE = f"""#set($message = "$!input.path('$.message')$!input.path('$.Message')")
#set($lower = $message.toLowerCase())
#if($lower.contains("throttl") || $lower.contains("rate exceeded"))
#set($context.responseOverride.status = 429)
{_error("too many requests: the model is throttling calls; retry with exponential backoff")}
#elseif($lower.contains("not found"))
#set($context.responseOverride.status = 503)
{_error("the model is not available: its endpoint does not exist (yet) in this environment")}
#elseif($lower.contains("greater than or equal") || $lower.contains("must not be null") || $lower.contains("empty"))
{_error("the body is empty: send one or more text/csv rows of numeric features")}
#elseif($lower.contains("less than or equal") || $lower.contains("too large") || $lower.contains("exceed"))
#set($context.responseOverride.status = 413)
{_error("the body is larger than the model accepts (6 MB): send fewer rows per request")}
#else
{_error("invalid request: send one or more text/csv rows of numeric features (no header, no label), at most 6 MB")}
#end"""

# $util.escapeJavaScript also escapes ' as \', which JSON does not allow: undo that one (the
# API Gateway Developer Guide's own example of mapping an error message does the same).
UNQUOTED_ORIGINAL = r"""$util.escapeJavaScript($original).replaceAll("\\'", "'")"""

# A ModelError (424): the container answered with a status of its own.
MODEL_ERROR_TEMPLATE = f"""#set($status = $input.path('$.OriginalStatusCode'))
#set($original = "$!input.path('$.OriginalMessage')")
#set($trace = $original.indexOf("Stack trace:"))
#if($trace >= 0)
#set($original = $original.substring(0, $trace).trim())
#end
#if($status >= 400 && $status < 500)
#set($context.responseOverride.status = $status)
{_error("the model refused the input: " + UNQUOTED_ORIGINAL)}
#else
#set($context.responseOverride.status = 502)
{_error("the model failed on this input; if it persists, report the requestId")}
#end"""

NOT_READY_TEMPLATE = _error("the model is not ready or is overloaded; retry with exponential backoff")
PAYLOAD_TEMPLATE = _error("the body is larger than the model accepts (6 MB): send fewer rows per request")
REFUSED_TEMPLATE = _error("the API could not call the model (its access was refused); report the requestId")
FAILED_TEMPLATE = _error("the prediction service failed; retry later, and report the requestId if it persists")


@dataclass(frozen=True)
class IntegrationRule:
    """One integration response: the SageMaker status codes it takes, and what the caller sees."""

    selection_pattern: str | None
    """A Java regex over the integration's status code; None: the default (2xx)."""
    status_code: str
    """The method response status before any template override."""
    template: str | None
    """The ``application/json`` template; None: the body passes through (the predictions)."""
    answers: str
    """What the caller is told (the README's error table)."""


INTEGRATION_RULES: tuple[IntegrationRule, ...] = (
    IntegrationRule(None, "200", None, "one probability per row, text/csv"),
    IntegrationRule(
        "400",
        "400",
        VALIDATION_TEMPLATE,
        "400 invalid request (an empty body among them); 429 when SageMaker throttles; 503 when the endpoint does not exist; "
        "413 over SageMaker's 6 MB",
    ),
    IntegrationRule("413", "413", PAYLOAD_TEMPLATE, "413 over SageMaker's 6 MB"),
    IntegrationRule("424", "400", MODEL_ERROR_TEMPLATE, "the model's own 4xx with its message (a bad row); 502 for its 5xx"),
    IntegrationRule("429", "429", NOT_READY_TEMPLATE, "429: the model is not ready or overloaded"),
    # Any other 4xx is the API's own fault (its role refused, a header SageMaker rejects): not the caller's.
    IntegrationRule("4(0[1-9]|1[0-24-9]|2[0-35-8]|[3-9][0-9])", "502", REFUSED_TEMPLATE, "502: the API could not call the model"),
    IntegrationRule("5[0-9]{2}", "502", FAILED_TEMPLATE, "502: SageMaker or the model failed"),
)

METHOD_STATUS_CODES = ("200", "400", "403", "413", "415", "429", "502", "503")
"""Every status the method can answer, overrides included, declared on the method."""
