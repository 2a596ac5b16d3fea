"""Stateful storage: the environment's KMS key and buckets. Never replaced by a stateless change."""

from __future__ import annotations

from typing import Any

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_kms as kms

from config.schema import DataConfig, bucket_name
from constructs import Construct
from ml_constructs import (
    AccessLogsBucket,
    AccessLogsBucketProps,
    BucketLifecycle,
    EncryptionKey,
    EncryptionKeyProps,
    SecureBucket,
    SecureBucketProps,
)

TRAINING_PREFIX = "training/"
"""Datasets land in ``training/<dataset>/{train,validation,test}/`` with a ``_SUCCESS`` marker."""
TRAINING_JOBS_PREFIX = "training-jobs/"
CHECKPOINTS_PREFIX = "checkpoints/"
DATA_CAPTURE_PREFIX = "data-capture/"
MONITORING_REPORTS_PREFIX = "monitoring/"
"""Model Monitor's reports (constraint violations, statistics of the captured requests), per schedule."""
BATCH_INPUT_PREFIX = "input/"
"""Input sets land in ``input/<set>/`` with a ``_SUCCESS`` marker; predictions go to ``output/<set>/``."""
BATCH_OUTPUT_PREFIX = "output/"
BATCH_MANIFEST_PREFIX = "manifests/"
PROMOTED_PREFIX = "promoted/"
"""Write-once: what an environment serves, copied here by promotion (``promoted/<group>/<version>/model.tar.gz``)."""


def data_key_alias(prefix: str) -> str:
    return f"{prefix}-data"


def notification_key_alias(prefix: str) -> str:
    return f"{prefix}-notifications"


class DataStack(Stack):
    """KMS key, training-data, model-artifact, batch and access-log buckets.

    Batch inputs and outputs share one bucket under ``input/`` and ``output/``: they have the
    same transient lifecycle, IAM is scoped per prefix anyway, and a transform job's output key
    mirrors its input key. Training data and model artifacts get buckets of their own because
    they live longer, are versioned and are read by different principals.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        prefix: str,
        data: DataConfig,
        artifacts_shared_with: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        removal_policy = RemovalPolicy.RETAIN if data.retain else RemovalPolicy.DESTROY

        def key(construct_id: str, alias: str, description: str) -> kms.IKey:
            """Every key of the environment: yearly rotation, kept with the data in production."""
            props = EncryptionKeyProps(
                alias=alias, description=description, removal_policy=removal_policy, pending_window_days=30 if data.retain else 7
            )
            return EncryptionKey(self, construct_id, props).key

        self.key = key("DataKey", data_key_alias(prefix), f"Encrypts {prefix} training data, model artifacts, batch data and job volumes")
        # Notification topics get a key of their own: CloudWatch must be allowed to use a topic's
        # key to publish alarms to it, and that must not make it a user of the data key.
        self.notification_key = key(
            "NotificationKey",
            notification_key_alias(prefix),
            f"Encrypts {prefix} notification topics (pipeline outcomes, alarms); no data or models",
        )
        self.access_logs = AccessLogsBucket(
            self, "AccessLogs", AccessLogsBucketProps(removal_policy=removal_policy, log_retention_days=data.access_log_retention_days)
        )
        durable = BucketLifecycle(
            noncurrent_version_expiration_days=data.noncurrent_version_expiration_days,
            abort_incomplete_multipart_upload_days=data.abort_incomplete_multipart_upload_days,
        )

        def data_bucket(construct_id: str, purpose: str, **props: Any) -> SecureBucket:
            """Every data bucket: the environment key, access logs under <purpose>/, a stable name."""
            return SecureBucket(
                self,
                construct_id,
                SecureBucketProps(
                    bucket_name=bucket_name(prefix, purpose, self.account, self.region),
                    encryption_key=self.key,
                    access_logs=self.access_logs,
                    access_logs_prefix=f"{purpose}/",
                    removal_policy=removal_policy,
                    **props,
                ),
            )

        self.training_data = data_bucket("TrainingData", "data", event_bridge_enabled=True, lifecycle=durable)
        self.model_artifacts = data_bucket("ModelArtifacts", "models", lifecycle=durable)
        # The artifacts endpoints serve: created once by a promotion, never changed or deleted.
        self.model_artifacts.make_write_once(PROMOTED_PREFIX)
        if artifacts_shared_with:
            # Environments in these accounts serve versions registered here (see registry.shared_with_accounts).
            self.model_artifacts.share_read_prefix(TRAINING_JOBS_PREFIX, artifacts_shared_with)
        self.batch = data_bucket(
            "Batch",
            "batch",
            versioned=False,
            unversioned_reason=(
                "Batch inputs and predictions are transient: they expire after the configured days and are re-created "
                "from the input set and the model version, so a version history would only keep expired data longer."
            ),
            event_bridge_enabled=True,
            lifecycle=BucketLifecycle(
                abort_incomplete_multipart_upload_days=data.abort_incomplete_multipart_upload_days,
                current_object_expiration_days=data.batch_expiration_days,
            ),
        )
