"""The model version named in config, as a network-isolated SageMaker Model with its own role."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms

from config.schema import ModelVersion, VpcConfig, bucket_name, prefix_of_registry
from constructs import Construct
from ml_constructs import SageMakerExecutionRole, SageMakerExecutionRoleProps, SecureBucket
from ml_constructs.iam import SageMakerLogKind
from ml_constructs.images import xgboost_image
from ml_constructs.model import HostedModel, HostedModelProps, ModelSource
from ml_constructs.nag import acknowledge_wildcard_resource, partition_of
from ml_constructs.storage import resource_account
from stacks.data_stack import PROMOTED_PREFIX, TRAINING_JOBS_PREFIX, data_key_alias


class ConfiguredModel(Construct):
    """Used by the Inference and BatchTransform stacks, each with a Model of its own: sharing
    one across stacks would make every model version change an export that is in use."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        description: str,
        log_kinds: Sequence[SageMakerLogKind],
        endpoint_name: str | None = None,
        model: ModelVersion,
        default_framework_version: str,
        model_artifacts: SecureBucket,
        encryption_key: kms.IKey,
        vpc: VpcConfig | None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.role = SageMakerExecutionRole(
            self, "Role", SageMakerExecutionRoleProps(description=description, log_kinds=log_kinds, endpoint_name=endpoint_name)
        )
        registry_account, repository, image = xgboost_image(
            model.framework_version or default_framework_version, Stack.of(self).region, "inference"
        )
        self.role.allow_image_pull(registry_account, repository)
        self.role.allow_volume_encryption(encryption_key)
        if model.model_package_arn:
            # A version of this environment's registry serves a promoted artifact: the write-once
            # copy promotion made (clients/promote.py), never a trained one under training-jobs/,
            # which training jobs can still write. A package pointing elsewhere fails to deploy.
            source_account = model.model_package_arn.split(":")[4]
            if source_account == Stack.of(self).account:
                model_artifacts.grant_read_prefix(self.role, PROMOTED_PREFIX)
            else:
                self._read_artifacts_of_another_account(model.model_package_arn)
            source = ModelSource(model_package_arn=model.model_package_arn)
        else:
            assert model.artifact_key is not None
            model_artifacts.grant_read_object(self.role, model.artifact_key)
            source = ModelSource(image_uri=image, model_data_url=f"{model_artifacts.s3_uri()}{model.artifact_key}")
        if vpc:
            self.role.allow_vpc_networking()
        self.hosted = HostedModel(
            self,
            "Model",
            HostedModelProps(
                source=source,
                execution_role=self.role,
                vpc_subnet_ids=vpc.subnet_ids if vpc else (),
                vpc_security_group_ids=vpc.security_group_ids if vpc else (),
            ),
        )

    def _read_artifacts_of_another_account(self, package_arn: str) -> None:
        """A version promoted from another account's registry: read its artifact there.

        That environment shares its registry, bucket prefix and key with this account
        (``registry.shared_with_accounts``); names follow the project's conventions.
        """
        stack = Stack.of(self)
        account, group = package_arn.split(":")[4], package_arn.split("/")[1]
        prefix = prefix_of_registry(group)
        partition = partition_of(stack.region)
        artifacts = f"arn:{partition}:s3:::{bucket_name(prefix, 'models', account, stack.region)}/{TRAINING_JOBS_PREFIX}*"
        keys = f"arn:{partition}:kms:{stack.region}:{account}:key/*"
        # By name, in another account: s3:ResourceAccount keeps the grant on that account's bucket.
        self.role.role.add_to_policy(
            iam.PolicyStatement(actions=["s3:GetObject"], resources=[artifacts], conditions=resource_account(account))
        )
        self.role.role.add_to_policy(
            iam.PolicyStatement(
                actions=["kms:Decrypt"],
                resources=[keys],
                conditions={"ForAnyValue:StringEquals": {"kms:ResourceAliases": f"alias/{data_key_alias(prefix)}"}},
            )
        )
        acknowledge_wildcard_resource(self.role, artifacts, f"Trained models of {prefix}, in account {account}, under training-jobs/ only.")
        acknowledge_wildcard_resource(
            self.role, keys, f"The key id is not known here; the condition allows only the key aliased alias/{data_key_alias(prefix)}."
        )
