"""An SNS topic for people: KMS-encrypted, TLS-only, with e-mail subscriptions, published to only
by the principals named here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions

from constructs import Construct

CLOUDWATCH = "cloudwatch.amazonaws.com"


@dataclass(frozen=True)
class NotificationTopicProps:
    display_name: str
    encryption_key: kms.IKey
    """A key for notifications only: a service allowed to publish (CloudWatch) must be allowed to
    use it, and must never thereby be allowed to use the key that protects data and models."""
    emails: Sequence[str] = field(default_factory=tuple)


class NotificationTopic(Construct):
    """Nobody may publish except the roles given :meth:`grant_publish` and, with
    :meth:`allow_alarms`, CloudWatch for the named alarms.

    An identity policy with ``sns:Publish`` on ``*`` would otherwise let any principal of the
    account send a message that looks like the pipeline's or an alarm's: the topic policy denies
    every other publisher (an explicit deny wins over any allow, IAM User Guide, "Policy
    evaluation logic",
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html).
    """

    def __init__(self, scope: Construct, construct_id: str, props: NotificationTopicProps) -> None:
        super().__init__(scope, construct_id)
        self.encryption_key = props.encryption_key
        self.topic = sns.Topic(self, "Topic", display_name=props.display_name, master_key=props.encryption_key, enforce_ssl=True)
        for email in props.emails:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))
        self._publisher_roles: list[str] = []
        self._publisher_services: list[str] = []
        # Until a publisher is named, nobody may publish; each grant narrows the deny's conditions.
        self._deny_others = iam.PolicyStatement(
            sid="OnlyNamedPublishers",
            effect=iam.Effect.DENY,
            actions=["sns:Publish"],
            principals=[iam.AnyPrincipal()],
            resources=[self.topic.topic_arn],
        )
        self.topic.add_to_resource_policy(self._deny_others)

    @property
    def topic_arn(self) -> str:
        return self.topic.topic_arn

    def allow_alarms(self, alarm_name_prefix: str) -> None:
        """Let CloudWatch publish for the alarms named ``<alarm_name_prefix>-*`` of this account
        and Region, and for no other alarm.

        Amazon SNS Developer Guide, "Amazon SNS data access policy examples": restrict a service
        principal's publishing with ``aws:SourceArn`` (the alarm's ARN) and ``aws:SourceAccount``
        (https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-use-cases.html). CloudWatch
        needs the topic's key as well ("Enable compatibility between event sources from AWS
        services and encrypted topics",
        https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services);
        that key is the topic's own, never the data key.
        """
        stack = Stack.of(self)
        alarms = stack.format_arn(
            service="cloudwatch", resource="alarm", resource_name=f"{alarm_name_prefix}-*", arn_format=ArnFormat.COLON_RESOURCE_NAME
        )
        principal = iam.ServicePrincipal(CLOUDWATCH)
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="EnvironmentAlarms",
                actions=["sns:Publish"],
                principals=[principal],
                resources=[self.topic.topic_arn],
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}, "ArnLike": {"aws:SourceArn": alarms}},
            )
        )
        self._publisher_services.append(CLOUDWATCH)
        self._narrow_deny()
        self.encryption_key.grant(principal, "kms:Decrypt", "kms:GenerateDataKey")

    def grant_publish(self, role: iam.IRole) -> None:
        """Let ``role`` publish, and use the key to encrypt the message (no KMS wildcard actions):
        its ARN joins the publishers the topic lets through."""
        role.add_to_principal_policy(iam.PolicyStatement(actions=["sns:Publish"], resources=[self.topic.topic_arn]))
        self.encryption_key.grant(role, "kms:Decrypt", "kms:GenerateDataKey")
        self._publisher_roles.append(role.role_arn)
        self._narrow_deny()

    def _narrow_deny(self) -> None:
        """Deny unless the caller is a named role or a named service.

        Both operators are negated, so a key the request lacks counts as "not equal": an IAM
        principal carries no ``aws:PrincipalServiceName`` and a service principal no
        ``aws:PrincipalArn`` (IAM User Guide, "AWS global condition context keys",
        https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html).
        """
        # The last call per operator wins (PolicyStatement.add_condition): each call names them all.
        if self._publisher_roles:
            self._deny_others.add_condition("ArnNotEquals", {"aws:PrincipalArn": list(self._publisher_roles)})
        if self._publisher_services:
            self._deny_others.add_condition("StringNotEqualsIfExists", {"aws:PrincipalServiceName": list(self._publisher_services)})
