"""Reusable, secure-by-default AWS CDK constructs for SageMaker model lifecycles."""

from ml_constructs.encryption import EncryptionKey, EncryptionKeyProps
from ml_constructs.iam import SageMakerExecutionRole, SageMakerExecutionRoleProps
from ml_constructs.storage import AccessLogsBucket, AccessLogsBucketProps, BucketLifecycle, SecureBucket, SecureBucketProps

__all__ = [
    "AccessLogsBucket",
    "AccessLogsBucketProps",
    "BucketLifecycle",
    "EncryptionKey",
    "EncryptionKeyProps",
    "SageMakerExecutionRole",
    "SageMakerExecutionRoleProps",
    "SecureBucket",
    "SecureBucketProps",
]
