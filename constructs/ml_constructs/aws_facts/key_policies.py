"""What a KMS key policy must grant an AWS service that encrypts with the key on our behalf.

No machine-readable model says which KMS actions a service calls with a customer managed key,
nor under which encryption context: it is prose in each service's guide, written down here with
the page and the sentence. ``ml_constructs.encryption`` writes key policies from these facts and
tests/test_checkov.py holds the synthesized key policies to them.
"""

from __future__ import annotations

from dataclasses import dataclass

from ml_constructs.aws_facts.iam import Source


@dataclass(frozen=True)
class ServiceKeyUse:
    principal: str
    """The service principal, ``{region}`` standing for the key's Region."""
    actions: tuple[str, ...]
    context_key: str
    """The encryption context key whose value names the resource the service encrypts."""
    source: Source


CLOUDWATCH_LOGS = ServiceKeyUse(
    principal="logs.{region}.amazonaws.com",
    # The page lists kms:Describe* as well. DescribeKey carries no encryption context, so under the
    # page's own condition it is never allowed: left out rather than written as if it were granted.
    actions=("kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*"),
    context_key="kms:EncryptionContext:aws:logs:arn",
    source=Source(
        "Encrypt log data in CloudWatch Logs using AWS Key Management Service: Step 2: Set permissions on the KMS key",
        "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html",
        "The Condition section in this example restricts the key to a single log group ARN. [Its statement: "
        '"Principal": {"Service": "logs.region.amazonaws.com"}, "Action": ["kms:Encrypt*", "kms:Decrypt*", '
        '"kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"], "Resource": "*", "Condition": {"ArnEquals": '
        '{"kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:region:account-id:log-group:log-group-name"}}]',
    ),
)
"""CloudWatch Logs encrypting a log group with a customer managed key (``KmsKeyId``)."""
