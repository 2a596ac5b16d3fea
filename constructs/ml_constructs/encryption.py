"""Customer-managed KMS key shared by an environment's data at rest."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_kms as kms

from constructs import Construct


@dataclass(frozen=True)
class EncryptionKeyProps:
    alias: str
    """Alias without the ``alias/`` prefix, e.g. ``mlops-dev-data``."""
    description: str
    removal_policy: RemovalPolicy = RemovalPolicy.RETAIN
    """RETAIN keeps the key (and so every object it encrypted) readable after a stack deletion."""
    pending_window_days: int = 30
    """How long a scheduled key deletion waits (7-30 days): the last chance to cancel it."""


class EncryptionKey(Construct):
    """A symmetric customer-managed key with yearly rotation and an alias."""

    def __init__(self, scope: Construct, construct_id: str, props: EncryptionKeyProps) -> None:
        super().__init__(scope, construct_id)
        if props.alias.startswith("alias/") or not props.alias:
            raise ValueError(f"EncryptionKeyProps.alias: {props.alias!r} must be a non-empty name without the 'alias/' prefix")
        if not 7 <= props.pending_window_days <= 30:
            raise ValueError(f"EncryptionKeyProps.pending_window_days: {props.pending_window_days} must be between 7 and 30")
        self.key = kms.Key(
            self,
            "Key",
            description=props.description,
            enable_key_rotation=True,
            alias=f"alias/{props.alias}",
            removal_policy=props.removal_policy,
            pending_window=Duration.days(props.pending_window_days),
        )
