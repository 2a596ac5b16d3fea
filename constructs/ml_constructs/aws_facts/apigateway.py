"""What API Gateway does that no machine-readable model states, for the prediction API.

botocore's models give SageMaker Runtime's side (InvokeEndpoint's method, path, payload limit and
error status codes; tests/test_prediction_api.py reads them). API Gateway's own behaviour - how an
AWS service integration is addressed, how it picks an integration response, what it answers before
any integration runs - is prose in its developer guide, written down here with the page.
"""

from __future__ import annotations

from ml_constructs.aws_facts.requests import Page

AWS_INTEGRATION_URI = Page(
    "API Gateway REST API reference: Integration, uri",
    "https://docs.aws.amazon.com/apigateway/latest/api/API_Integration.html",
    "For AWS or AWS_PROXY integrations, the URI is of the form arn:aws:apigateway:{region}:{subdomain.service|service}:path|action/"
    "{service_api}. Region, subdomain and service are used to determine the right endpoint.",
)
"""``arn:aws:apigateway:<region>:runtime.sagemaker:path//endpoints/<name>/invocations``: the service is
botocore's ``endpointPrefix`` of SageMaker Runtime and the path its InvokeEndpoint ``requestUri``."""

SELECTION_PATTERN = Page(
    "API Gateway REST API reference: IntegrationResponse, selectionPattern",
    "https://docs.aws.amazon.com/apigateway/latest/api/API_IntegrationResponse.html",
    "Specifies the regular expression (regex) pattern used to choose an integration response based on the response from the "
    "back end. For example, if the success response returns nothing and the error response returns some string, you could use "
    "the .+ regex to match error response. However, make sure that the error response does not contain any newline (\\n) "
    "character in such cases. If the back end is an AWS Lambda function, the AWS Lambda function error header is matched. "
    "For all other HTTP and AWS back ends, the HTTP status code is matched.",
)
"""So the integration's status code picks the template; the patterns are kept disjoint, so that the
order API Gateway tries them in cannot matter."""

PASSTHROUGH_NEVER = Page(
    "Method request behavior for payloads without mapping templates for REST APIs in API Gateway",
    "https://docs.aws.amazon.com/apigateway/latest/developerguide/integration-passthrough-behaviors.html",
    "Choose this option if you do not want the method request body to pass through the integration request to the backend "
    "without transformation when no mapping template is defined in the integration request. If a template is defined when this "
    "option is selected, the method request of an unmapped content type will be rejected with an HTTP 415 Unsupported Media "
    "Type response.",
)
"""With a text/csv template and ``NEVER``, any other content type is 415 before SageMaker is called."""

RESPONSE_OVERRIDE = Page(
    "Override your API's request and response parameters and status codes for REST APIs in API Gateway",
    "https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-override-request-response-parameters.html",
    "You can use mapping template transformations to override any type of request parameter, response header, or response "
    "status code. [...] $context.responseOverride.status",
)
"""An integration response template may set the status the caller sees (the model's own 4xx, 429, 503)."""

PAYLOAD_LIMIT_BYTES = 10 * 1024 * 1024
PAYLOAD_LIMIT = Page(
    "Amazon API Gateway quotas: Quotas for configuring and running a REST API",
    "https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-execution-service-limits-table.html",
    "Payload size: 10 MB. Can't be changed.",
)
"""API Gateway answers a larger body itself (REQUEST_TOO_LARGE, 413); SageMaker's own limit is lower
(botocore's InvokeEndpoint ``Body`` max) and is answered through the integration responses."""

INTEGRATION_TIMEOUT_MS = 29_000
INTEGRATION_TIMEOUT = Page(
    "Amazon API Gateway quotas: Quotas for configuring and running a REST API",
    "https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-execution-service-limits-table.html",
    "Integration timeout: 50 milliseconds - 29 seconds for all integration types [...] (the default).",
)

GATEWAY_RESPONSE_TEMPLATES = Page(
    "Gateway responses for REST APIs in API Gateway",
    "https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-gatewayResponse-definition.html",
    "The mapping templates [of a gateway response] are not processed by the VTL engine. [They support] $context and "
    "$stageVariables property values, as well as method request parameters.",
)
"""Answers API Gateway gives itself (bad key, throttled, too large, unsupported type) use simple
substitution only: ``$context.error.messageString`` is already a quoted JSON string."""

WAF_REGIONAL_SCOPE = Page(
    "AWS::WAFv2::WebACL Scope",
    "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-wafv2-webacl.html",
    "Specifies whether this is for an Amazon CloudFront distribution or for a regional application. A regional application "
    "can be an Application Load Balancer (ALB), an Amazon API Gateway REST API, [...]. Valid Values are CLOUDFRONT and REGIONAL.",
)
