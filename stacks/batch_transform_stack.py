"""Batch transform: the environment's model over input sets dropped in the batch bucket."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_kms as kms

from config.schema import BatchConfig, ModelVersion, VpcConfig
from constructs import Construct
from ml_constructs import SecureBucket
from ml_constructs.notifications import NotificationTopic, NotificationTopicProps
from ml_constructs.transform_pipeline import TransformJobSettings, TransformPipeline, TransformPipelineProps
from ml_constructs.triggers import PipelineStarts, PipelineStartsProps
from stacks.configured_model import ConfiguredModel
from stacks.data_stack import BATCH_INPUT_PREFIX, BATCH_MANIFEST_PREFIX, BATCH_OUTPUT_PREFIX


class BatchTransformStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        prefix: str,
        batch: BatchConfig,
        model: ModelVersion,
        default_framework_version: str,
        vpc: VpcConfig | None,
        model_artifacts: SecureBucket,
        batch_bucket: SecureBucket,
        encryption_key: kms.IKey,
        notification_key: kms.IKey,
        notification_emails: list[str],
        retain: bool,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        transform_model = ConfiguredModel(
            self,
            "Model",
            description=f"Runs {prefix} batch transform jobs",
            log_kinds=("TransformJobs",),
            model=model,
            default_framework_version=default_framework_version,
            model_artifacts=model_artifacts,
            encryption_key=encryption_key,
            vpc=vpc,
        )
        batch_bucket.grant_read_prefix(transform_model.role, BATCH_INPUT_PREFIX)
        batch_bucket.grant_read_prefix(transform_model.role, BATCH_MANIFEST_PREFIX)
        batch_bucket.grant_write_prefix(transform_model.role, BATCH_OUTPUT_PREFIX)

        self.notifications = NotificationTopic(
            self,
            "Notifications",
            NotificationTopicProps(display_name=f"{prefix} batch transform", encryption_key=notification_key, emails=notification_emails),
        )
        self.pipeline = TransformPipeline(
            self,
            "Pipeline",
            TransformPipelineProps(
                name_prefix=f"{prefix}-batch",
                model=transform_model.hosted,
                bucket=batch_bucket,
                encryption_key=encryption_key,
                notifications=self.notifications,
                job=TransformJobSettings(
                    instance_type=batch.instance_type,
                    instance_count=batch.instance_count,
                    max_payload_mb=batch.max_payload_mb,
                    max_concurrent_transforms=batch.max_concurrent_transforms,
                    invocation_timeout_seconds=batch.invocation_timeout_seconds,
                    invocation_max_retries=batch.invocation_max_retries,
                    model_features=model.features,
                    input_has_label=batch.input_has_label,
                    join_with_input=batch.join_with_input,
                ),
                timeout_hours=batch.timeout_hours,
                input_prefix=BATCH_INPUT_PREFIX,
                output_prefix=BATCH_OUTPUT_PREFIX,
                manifest_prefix=BATCH_MANIFEST_PREFIX,
                tags={"pipeline": f"{prefix}-batch"},
                retain_logs=retain,
            ),
        )
        PipelineStarts(
            self,
            "Starts",
            PipelineStartsProps(
                bucket=batch_bucket,
                prefix=BATCH_INPUT_PREFIX,
                state_machine=self.pipeline.state_machine,
                what="Transform",
                input_key="input",
                name_prefix=f"{prefix}-batch",
                schedule_expression=batch.schedule.expression if batch.schedule else None,
                scheduled_folder=batch.schedule.input if batch.schedule else None,
            ),
        )
        CfnOutput(self, "StateMachineArn", value=self.pipeline.state_machine_arn, description="Start a run: see README, 'Batch transform'")
        CfnOutput(self, "NotificationTopicArn", value=self.notifications.topic_arn)
