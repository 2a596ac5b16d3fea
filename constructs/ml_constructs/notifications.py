"""An SNS topic for people: KMS-encrypted, TLS-only, with e-mail subscriptions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions

from constructs import Construct


@dataclass(frozen=True)
class NotificationTopicProps:
    display_name: str
    encryption_key: kms.IKey
    emails: Sequence[str] = field(default_factory=tuple)


class NotificationTopic(Construct):
    def __init__(self, scope: Construct, construct_id: str, props: NotificationTopicProps) -> None:
        super().__init__(scope, construct_id)
        self.encryption_key = props.encryption_key
        self.topic = sns.Topic(self, "Topic", display_name=props.display_name, master_key=props.encryption_key, enforce_ssl=True)
        for email in props.emails:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))

    @property
    def topic_arn(self) -> str:
        return self.topic.topic_arn

    def allow_service(self, service_principal: str) -> None:
        """Let an AWS service (CloudWatch alarms, EventBridge) publish: topic policy and key use."""
        principal = iam.ServicePrincipal(service_principal)
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                actions=["sns:Publish"],
                principals=[principal],
                resources=[self.topic.topic_arn],
                conditions={"StringEquals": {"aws:SourceAccount": Stack.of(self).account}},
            )
        )
        self.encryption_key.grant(principal, "kms:Decrypt", "kms:GenerateDataKey")

    def grant_publish(self, grantee: iam.IGrantable) -> None:
        """Publish, and use the key to encrypt the message (no KMS wildcard actions)."""
        grantee.grant_principal.add_to_principal_policy(iam.PolicyStatement(actions=["sns:Publish"], resources=[self.topic.topic_arn]))
        self.encryption_key.grant(grantee, "kms:Decrypt", "kms:GenerateDataKey")
