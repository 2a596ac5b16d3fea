"""One environment (dev, prod, ...) as a CDK Stage: the same stacks, configured per environment."""

from __future__ import annotations

import sys
from typing import Any

from aws_cdk import DefaultStackSynthesizer, Environment, Stage, Tags, Validations
from aws_cdk import aws_iam as iam
from cdk_nag import AwsSolutionsChecks

from config.schema import EnvironmentConfig
from constructs import Construct
from ml_constructs.endpoint import VARIANT_NAME, InstanceVariant
from ml_constructs.instances import gpus, vcpus
from ml_constructs.monitoring import DATA_DRIFT, ApiMetrics, DataQualityMetrics, EndpointMetrics, ModelQualityMetrics, alarm_name
from ml_constructs.prediction_mapping import STAGE as API_STAGE
from ml_constructs.sagemaker_checks import SageMakerChecks
from stacks.batch_transform_stack import BatchTransformStack
from stacks.data_stack import DataStack
from stacks.inference_stack import (
    InferenceStack,
    data_quality_schedule_name,
    endpoint_variant,
    model_quality_schedule_name,
    prediction_api_name,
)
from stacks.monitoring_stack import MonitoringStack
from stacks.training_stack import TrainingStack


class EnvironmentStage(Stage):
    def __init__(
        self, scope: Construct, config: EnvironmentConfig, smoke_test_account: str | None = None, local_emulator: bool = False
    ) -> None:
        env = Environment(account=config.account, region=config.region)
        super().__init__(scope, config.name, env=env)

        def common(stack: str) -> dict[str, Any]:
            # Explicit stack names: a deploy by hand (`cdk deploy -c env=dev`) and one from the
            # delivery pipeline update the same CloudFormation stacks.
            settings: dict[str, Any] = {
                "env": env,
                "termination_protection": config.termination_protection,
                "stack_name": f"{config.name}-{stack}",
            }
            if local_emulator:
                # The emulator cannot evaluate the bootstrap-version rule (an SSM parameter
                # check); real deployments keep it.
                settings["synthesizer"] = DefaultStackSynthesizer(generate_bootstrap_version_rule=False)
            return settings

        self.data = DataStack(
            self,
            "Data",
            prefix=config.prefix,
            data=config.data,
            artifacts_shared_with=config.registry.shared_with_accounts,
            **common("Data"),
        )
        self.training = TrainingStack(
            self,
            "Training",
            prefix=config.prefix,
            training=config.training,
            training_data=self.data.training_data,
            model_artifacts=self.data.model_artifacts,
            encryption_key=self.data.key,
            notification_key=self.data.notification_key,
            notification_emails=config.notifications.emails,
            retain=config.data.retain,
            registry_shared_with=config.registry.shared_with_accounts,
            # The drift alarm's name, known before the Monitoring stack defines it.
            retrain_on=(alarm_name(config.prefix, DATA_DRIFT), config.monitoring.drift.dataset)
            if config.monitoring.drift.retrain and config.monitoring.drift.dataset
            else None,
            **common("Training"),
        )

        model = config.inference.model if config.inference else None
        self.batch: BatchTransformStack | None = None
        if model and config.batch:
            assert config.inference is not None
            self.batch = BatchTransformStack(
                self,
                "BatchTransform",
                prefix=config.prefix,
                batch=config.batch,
                model=model,
                default_framework_version=config.training.framework_version,
                vpc=config.inference.vpc,
                model_artifacts=self.data.model_artifacts,
                batch_bucket=self.data.batch,
                encryption_key=self.data.key,
                notification_key=self.data.notification_key,
                notification_emails=config.notifications.emails,
                retain=config.data.retain,
                **common("BatchTransform"),
            )

        variant = endpoint_variant(config.inference) if config.inference and model else None
        data_quality = config.monitoring.data_quality
        monitored = (
            DataQualityMetrics(config.endpoint_name, data_quality_schedule_name(config.prefix), model.features, data_quality.cadence_hours)
            if model and data_quality.enabled
            else None
        )
        self.monitoring = MonitoringStack(
            self,
            "Monitoring",
            prefix=config.prefix,
            monitoring=config.monitoring,
            notification_key=self.data.notification_key,
            training_pipeline_arn=self.training.pipeline.state_machine_arn,
            batch_pipeline_arn=self.batch.pipeline.state_machine_arn if self.batch else None,
            endpoint=EndpointMetrics(config.endpoint_name, VARIANT_NAME) if variant else None,
            endpoint_vcpus=vcpus(variant.instance_type) if isinstance(variant, InstanceVariant) else None,
            endpoint_gpus=gpus(variant.instance_type, config.region) if isinstance(variant, InstanceVariant) else 0,
            api=ApiMetrics(prediction_api_name(config.prefix), API_STAGE) if model and config.inference and config.inference.api else None,
            api_alarms=config.inference.api.alarms if model and config.inference and config.inference.api else None,
            data_quality=monitored,
            model_quality=ModelQualityMetrics(
                config.endpoint_name, model_quality_schedule_name(config.prefix), config.monitoring.model_quality.cadence_hours
            )
            if model and config.monitoring.model_quality
            else None,
            **common("Monitoring"),
        )

        # Monitoring names the pipelines by their literal ARNs. Deploying it first means that a
        # Monitoring stack of an earlier version, which imported them from these stacks, lets go
        # of those exports before the pipelines' stacks drop them.
        self.training.add_stack_dependency(self.monitoring)
        if self.batch:
            self.batch.add_stack_dependency(self.monitoring)

        self.inference: InferenceStack | None = None
        if model:
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
                rollback_alarm_names=self.monitoring.monitoring.rollback_alarm_names,
                smoke_test_account=smoke_test_account,
                retain_logs=config.data.retain,
                data_quality=config.monitoring.data_quality,
                model_quality=config.monitoring.model_quality,
                resource_tags=config.tags,
                **common("Inference"),
            )
            # The endpoint names its rollback alarms; they must exist before a deployment starts.
            self.inference.add_stack_dependency(self.monitoring)
        else:
            print(f"{config.name}: no model configured (inference.model), so no Inference or BatchTransform stack yet", file=sys.stderr)

        # The local emulator fails on CloudFormation tags of these types (it reads KMS tags as
        # TagKey/TagValue and SSM parameter tags as a list); AWS takes them.
        untagged = ["AWS::KMS::Key", "AWS::SSM::Parameter"] if local_emulator else None
        for key, value in config.tags.items():
            Tags.of(self).add(key, value, exclude_resource_types=untagged)
        if config.permissions_boundary_arn:
            boundary = iam.ManagedPolicy.from_managed_policy_arn(self, "PermissionsBoundary", config.permissions_boundary_arn)
            iam.PermissionsBoundary.of(self).apply(boundary)
        # Every finding fails synth unless acknowledged with a reason next to the resource.
        Validations.of(self).add_plugins(
            AwsSolutionsChecks(self),
            SageMakerChecks(production=config.production, require_vpc=bool(config.inference and config.inference.vpc)),
        )
