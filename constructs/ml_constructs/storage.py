"""S3 buckets with the house defaults: encrypted, private, TLS-only, logged, and tidy."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3

from constructs import Construct
from ml_constructs.checkov import skip_checkov
from ml_constructs.nag import acknowledge_wildcard_resource, partition_of


@dataclass(frozen=True)
class BucketLifecycle:
    noncurrent_version_expiration_days: int = 30
    abort_incomplete_multipart_upload_days: int = 7
    current_object_expiration_days: int | None = None
    """Expire current objects too; for transient data such as batch inputs and outputs."""

    def __post_init__(self) -> None:
        for name in ("noncurrent_version_expiration_days", "abort_incomplete_multipart_upload_days"):
            if getattr(self, name) < 1:
                raise ValueError(f"BucketLifecycle.{name}: {getattr(self, name)} must be at least 1 day")
        if self.current_object_expiration_days is not None and self.current_object_expiration_days < 1:
            raise ValueError(
                f"BucketLifecycle.current_object_expiration_days: {self.current_object_expiration_days} must be at least 1 day"
            )

    def rules(self, versioned: bool) -> list[s3.LifecycleRule]:
        rules = [
            s3.LifecycleRule(
                id="abort-incomplete-multipart-uploads",
                abort_incomplete_multipart_upload_after=Duration.days(self.abort_incomplete_multipart_upload_days),
            )
        ]
        if versioned:
            rules.append(
                s3.LifecycleRule(
                    id="expire-noncurrent-versions",
                    noncurrent_version_expiration=Duration.days(self.noncurrent_version_expiration_days),
                )
            )
        if self.current_object_expiration_days is not None:
            rules.append(
                s3.LifecycleRule(
                    id="expire-current-objects",
                    expiration=Duration.days(self.current_object_expiration_days),
                )
            )
        return rules


@dataclass(frozen=True)
class AccessLogsBucketProps:
    removal_policy: RemovalPolicy = RemovalPolicy.RETAIN
    log_retention_days: int = 365


class AccessLogsBucket(Construct):
    """Target of S3 server access logs.

    S3 delivers server access logs only to buckets whose default encryption is SSE-S3: SSE-KMS
    is not supported for log delivery, so this is the one bucket not encrypted with the
    environment's customer-managed key.
    """

    def __init__(self, scope: Construct, construct_id: str, props: AccessLogsBucketProps) -> None:
        super().__init__(scope, construct_id)
        if props.log_retention_days < 1:
            raise ValueError(f"AccessLogsBucketProps.log_retention_days: {props.log_retention_days} must be at least 1")
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            versioned=False,
            removal_policy=props.removal_policy,
            lifecycle_rules=BucketLifecycle(current_object_expiration_days=props.log_retention_days).rules(versioned=False),
        )
        # Amazon S3 User Guide, "Enabling Amazon S3 server access logging": "Your destination bucket
        # should not have server access logging enabled"; logging into itself "would cause an infinite
        # loop of logs" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html).
        skip_checkov(
            self.bucket,
            "CKV_AWS_18",
            "This is the destination of the environment's S3 server access logs, and S3 advises against logging a "
            "log destination: each delivery of logs into it would itself be logged, without end.",
        )
        skip_checkov(
            self.bucket,
            "CKV_AWS_21",
            "S3 log delivery writes each log object once under a new key and the lifecycle rule expires it; nothing "
            "overwrites a log, so versioning would keep no history, only keep expired logs longer.",
        )


@dataclass(frozen=True)
class SecureBucketProps:
    encryption_key: kms.IKey
    bucket_name: str | None
    """A stable name lets producers and consumers in other stacks and accounts address the
    bucket without cross-stack exports, and keeps IAM findings exact. ``None``: generated."""
    access_logs: AccessLogsBucket
    access_logs_prefix: str
    versioned: bool = True
    unversioned_reason: str | None = None
    """Why a bucket with ``versioned=False`` needs no version history: required then, and recorded
    on the bucket for checkov (CKV_AWS_21) so reviewers read the reason next to the resource."""
    event_bridge_enabled: bool = False
    """Send every object event to EventBridge (the trigger of the training and batch pipelines)."""
    lifecycle: BucketLifecycle = BucketLifecycle()
    removal_policy: RemovalPolicy = RemovalPolicy.RETAIN


class SecureBucket(Construct):
    """A bucket encrypted with a customer-managed key (bucket keys on), private and TLS-only."""

    def __init__(self, scope: Construct, construct_id: str, props: SecureBucketProps) -> None:
        super().__init__(scope, construct_id)
        if not props.access_logs_prefix.endswith("/"):
            raise ValueError(f"SecureBucketProps.access_logs_prefix: {props.access_logs_prefix!r} must end with '/'")
        if props.versioned == bool(props.unversioned_reason):
            raise ValueError("SecureBucketProps.unversioned_reason: give it exactly when versioned=False (why no version history is kept)")
        self.encryption_key = props.encryption_key
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            bucket_name=props.bucket_name,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=props.encryption_key,
            # One data key per bucket instead of one KMS call per object: cheaper and faster.
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            versioned=props.versioned,
            server_access_logs_bucket=props.access_logs.bucket,
            server_access_logs_prefix=props.access_logs_prefix,
            lifecycle_rules=props.lifecycle.rules(props.versioned),
            removal_policy=props.removal_policy,
        )
        if props.unversioned_reason:
            skip_checkov(self.bucket, "CKV_AWS_21", props.unversioned_reason)
        if props.event_bridge_enabled:
            # The bucket's own CloudFormation property: the L2 `event_bridge_enabled` flag would
            # add a Lambda-backed custom resource to do the same thing.
            cfn_bucket = self.bucket.node.default_child
            assert isinstance(cfn_bucket, s3.CfnBucket)
            cfn_bucket.add_property_override("NotificationConfiguration.EventBridgeConfiguration.EventBridgeEnabled", True)

        if props.bucket_name:
            # Literal names and ARNs: other stacks use them without an export.
            self.bucket_name = props.bucket_name
            self.bucket_arn = f"arn:{partition_of(Stack.of(self).region)}:s3:::{props.bucket_name}"
        else:
            self.bucket_name = self.bucket.bucket_name
            self.bucket_arn = self.bucket.bucket_arn

    def arn_for_objects(self, prefix: str) -> str:
        return f"{self.bucket_arn}/{prefix}*"

    def s3_uri(self, prefix: str = "") -> str:
        return f"s3://{self.bucket_name}/{prefix}"

    def grant_read_prefix(self, grantee: iam.IGrantable, prefix: str, within: str = "") -> None:
        """Read objects under ``prefix`` (and list only that prefix), decrypting with the bucket key.

        ``within``: only keys ``<prefix><within>...``, a folder pattern such as ``mlops-dev-*/output/``.
        """
        _check_prefix(prefix)
        self._grant_objects(grantee, prefix, ["s3:GetObject"], within)
        self.encryption_key.grant(grantee, "kms:Decrypt")

    def share_read_prefix(self, prefix: str, accounts: Sequence[str]) -> None:
        """Let other accounts read objects under ``prefix`` (their own IAM must allow it too)."""
        _check_prefix(prefix)
        principals: list[iam.IPrincipal] = [iam.AccountPrincipal(account) for account in accounts]
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(actions=["s3:GetObject"], principals=principals, resources=[self.bucket.arn_for_objects(f"{prefix}*")])
        )
        # Decrypt only on behalf of S3 reads, not as a general-purpose key.
        region = Stack.of(self).region
        self.encryption_key.add_to_resource_policy(
            iam.PolicyStatement(
                actions=["kms:Decrypt"],
                principals=principals,
                resources=["*"],
                conditions={"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}},
            )
        )

    def make_write_once(self, prefix: str) -> None:
        """Objects under ``prefix`` can be created, never overwritten or deleted, by anyone.

        Writes must be conditional (``If-None-Match: *``, which S3 refuses when the key exists):
        a bucket policy denies a PutObject without it (Amazon S3 User Guide, "Enforce conditional
        writes on Amazon S3 buckets", https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes-enforce.html;
        CopyObject into the prefix is refused as well, and so are multipart uploads, which take
        no conditional header until they complete), and deletes of any version are denied. An
        explicit deny in the bucket policy applies to every principal, the account's
        administrators included; only a change of this policy (a reviewed deployment) lifts it.
        S3 Object Lock would do the same, but it is enabled on an existing bucket only outside
        CloudFormation, and a bucket that holds data is never replaced to get it.
        """
        _check_prefix(prefix)
        objects = self.arn_for_objects(prefix)
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="WriteOnceCreateOnly",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["s3:PutObject"],
                resources=[objects],
                conditions={"Null": {"s3:if-none-match": "true"}},
            )
        )
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="WriteOnceNeverDeleted",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["s3:DeleteObject", "s3:DeleteObjectVersion"],
                resources=[objects],
            )
        )

    def grant_read_object(self, grantee: iam.IGrantable, key: str) -> None:
        """Read one object, and nothing else in the bucket."""
        if not key or key.endswith("/") or "*" in key:
            raise ValueError(f"key {key!r} must name one object (no trailing '/', no '*')")
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(actions=["s3:GetObject"], resources=[f"{self.bucket_arn}/{key}"], conditions=self._in_own_account())
        )
        self.encryption_key.grant(grantee, "kms:Decrypt")

    def grant_write_prefix(self, grantee: iam.IGrantable, prefix: str, within: str = "") -> None:
        """Write objects under ``prefix`` (``within`` as for :meth:`grant_read_prefix`), encrypting with the bucket key."""
        _check_prefix(prefix)
        self._grant_objects(grantee, prefix, ["s3:PutObject", "s3:AbortMultipartUpload"], within)
        # Multipart uploads under SSE-KMS need Decrypt as well as GenerateDataKey.
        self.encryption_key.grant(grantee, "kms:Decrypt", "kms:GenerateDataKey")

    def _grant_objects(self, grantee: iam.IGrantable, prefix: str, actions: list[str], within: str = "") -> None:
        if within and (not within.endswith("/") or within.startswith("/")):
            raise ValueError(f"within {within!r} must be a folder pattern such as 'mlops-dev-*/output/'")
        objects = self.arn_for_objects(prefix + within)
        principal = grantee.grant_principal
        principal.add_to_principal_policy(iam.PolicyStatement(actions=actions, resources=[objects], conditions=self._in_own_account()))
        if isinstance(grantee, Construct):
            acknowledge_wildcard_resource(
                grantee, objects, f"Object access is limited to the {prefix}{within} prefix of bucket {self.bucket_name}."
            )
        principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[self.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{prefix}*"]}, **self._in_own_account()},
            )
        )

    def _in_own_account(self) -> dict[str, dict[str, str]]:
        """Grants name the bucket by its name, and names are global: should the bucket ever be
        deleted and its name taken in another account, these grants would follow the name there.
        ``s3:ResourceAccount`` keeps them on this account's bucket (Amazon S3 User Guide, "Bucket
        policy examples using condition keys", restricting access to buckets an account owns,
        https://docs.aws.amazon.com/AmazonS3/latest/userguide/amazon-s3-policy-keys.html)."""
        return resource_account(self._account)

    @functools.cached_property
    def _account(self) -> str:
        return Stack.of(self).account


def resource_account(account: str) -> dict[str, dict[str, str]]:
    """The condition that keeps an S3 grant by bucket name on buckets of ``account``."""
    return {"StringEquals": {"s3:ResourceAccount": account}}


def _check_prefix(prefix: str) -> None:
    if not prefix or not prefix.endswith("/") or prefix.startswith("/") or "*" in prefix:
        raise ValueError(f"prefix {prefix!r} must be a key prefix such as 'training/' (no leading '/', no '*')")
