"""Reusable, secure-by-default AWS CDK constructs for SageMaker model lifecycles.

Exports load lazily: ``ml_constructs.images`` (used to validate configuration) must not start
the jsii runtime that importing aws_cdk starts.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "AccessLogsBucket": "storage",
    "AccessLogsBucketProps": "storage",
    "BucketLifecycle": "storage",
    "SecureBucket": "storage",
    "SecureBucketProps": "storage",
    "EncryptionKey": "encryption",
    "EncryptionKeyProps": "encryption",
    "SageMakerExecutionRole": "iam",
    "SageMakerExecutionRoleProps": "iam",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'ml_constructs' has no attribute {name!r}")
    return getattr(importlib.import_module(f"ml_constructs.{_EXPORTS[name]}"), name)
