"""One environment (dev, prod, ...) as a CDK Stage: the same stacks, configured per environment."""

from __future__ import annotations

import sys

from aws_cdk import Environment, Stage, Tags, Validations
from aws_cdk import aws_iam as iam
from cdk_nag import AwsSolutionsChecks

from config.schema import EnvironmentConfig
from constructs import Construct
from stacks.batch_transform_stack import BatchTransformStack
from stacks.data_stack import DataStack
from stacks.inference_stack import InferenceStack
from stacks.training_stack import TrainingStack


class EnvironmentStage(Stage):
    def __init__(self, scope: Construct, config: EnvironmentConfig) -> None:
        env = Environment(account=config.account, region=config.region)
        super().__init__(scope, config.name, env=env)
        common = {"env": env, "termination_protection": config.termination_protection}

        self.data = DataStack(self, "Data", prefix=config.prefix, data=config.data, **common)
        self.training = TrainingStack(
            self,
            "Training",
            prefix=config.prefix,
            training=config.training,
            training_data=self.data.training_data,
            model_artifacts=self.data.model_artifacts,
            encryption_key=self.data.key,
            notification_emails=config.notifications.emails,
            retain=config.data.retain,
            **common,
        )

        self.inference: InferenceStack | None = None
        if config.serves_a_model:
            assert config.inference is not None
            self.inference = InferenceStack(
                self,
                "Inference",
                prefix=config.prefix,
                endpoint_name=config.endpoint_name,
                inference=config.inference,
                default_framework_version=config.training.framework_version,
                model_artifacts=self.data.model_artifacts,
                encryption_key=self.data.key,
                **common,
            )
        else:
            print(f"{config.name}: no model configured (inference.model), so no Inference or BatchTransform stack yet", file=sys.stderr)

        self.batch: BatchTransformStack | None = None
        if config.serves_a_model and config.batch:
            assert config.inference is not None
            assert config.inference.model is not None
            self.batch = BatchTransformStack(
                self,
                "BatchTransform",
                prefix=config.prefix,
                batch=config.batch,
                model=config.inference.model,
                default_framework_version=config.training.framework_version,
                vpc=config.inference.vpc,
                model_artifacts=self.data.model_artifacts,
                batch_bucket=self.data.batch,
                encryption_key=self.data.key,
                notification_emails=config.notifications.emails,
                retain=config.data.retain,
                **common,
            )

        for key, value in config.tags.items():
            Tags.of(self).add(key, value)
        if config.permissions_boundary_arn:
            boundary = iam.ManagedPolicy.from_managed_policy_arn(self, "PermissionsBoundary", config.permissions_boundary_arn)
            iam.PermissionsBoundary.of(self).apply(boundary)
        # Every finding fails synth unless acknowledged with a reason next to the resource.
        Validations.of(self).add_plugins(AwsSolutionsChecks(self))
