"""Inference: the configured model version behind an autoscaled, safely updated endpoint."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_ssm as ssm

from config.schema import InferenceConfig, ModelVersion
from constructs import Construct
from ml_constructs import SageMakerExecutionRole, SageMakerExecutionRoleProps, SecureBucket
from ml_constructs.endpoint import (
    DataCapture,
    InstanceVariant,
    ModelSource,
    RealtimeEndpoint,
    RealtimeEndpointProps,
    RollbackThresholds,
    ServerlessVariant,
    TrafficShift,
)
from ml_constructs.endpoint_autoscaling import EndpointAutoscaling, EndpointAutoscalingProps, ScheduledCapacity
from ml_constructs.images import xgboost_image
from ml_constructs.nag import acknowledge_wildcard_resource
from stacks.data_stack import DATA_CAPTURE_PREFIX, TRAINING_JOBS_PREFIX


class InferenceStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        prefix: str,
        endpoint_name: str,
        inference: InferenceConfig,
        default_framework_version: str,
        model_artifacts: SecureBucket,
        encryption_key: kms.IKey,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        model = inference.model
        assert model is not None, "the stage creates this stack only when a model is configured"

        role = SageMakerExecutionRole(
            self,
            "ModelRole",
            SageMakerExecutionRoleProps(
                description=f"Hosts the {prefix} endpoint's model", log_kinds=("Endpoints",), publishes_metrics=False
            ),
        )
        source = self._model_source(model, default_framework_version, model_artifacts, role)
        if inference.data_capture.enabled:
            model_artifacts.grant_write_prefix(role, DATA_CAPTURE_PREFIX)
        if inference.vpc:
            self._allow_vpc_networking(role)

        scaling = inference.autoscaling if inference.autoscaling_enabled else None
        shift = inference.deployment
        self.endpoint = RealtimeEndpoint(
            self,
            "Endpoint",
            RealtimeEndpointProps(
                endpoint_name=endpoint_name,
                model=source,
                execution_role=role,
                variant=InstanceVariant(inference.variant.instance_type, inference.variant.initial_instance_count)
                if inference.variant
                else ServerlessVariant(inference.serverless.memory_size_mb, inference.serverless.max_concurrency),  # type: ignore[union-attr]
                encryption_key=encryption_key,
                traffic_shift=TrafficShift(
                    strategy=shift.strategy,
                    canary_percent=shift.canary_percent,
                    linear_step_percent=shift.linear_step_percent,
                    wait_interval_seconds=shift.wait_interval_seconds,
                    termination_wait_seconds=shift.termination_wait_seconds,
                    maximum_execution_timeout_seconds=shift.maximum_execution_timeout_seconds,
                ),
                rollback=RollbackThresholds(
                    error_rate_percent=shift.rollback_error_rate_percent, p99_latency_ms=shift.rollback_p99_latency_ms
                ),
                data_capture=DataCapture(
                    destination_s3_uri=model_artifacts.s3_uri(DATA_CAPTURE_PREFIX),
                    sampling_percentage=inference.data_capture.sampling_percentage,
                )
                if inference.data_capture.enabled
                else None,
                retain_instance_count=scaling is not None,
                vpc_subnet_ids=inference.vpc.subnet_ids if inference.vpc else (),
                vpc_security_group_ids=inference.vpc.security_group_ids if inference.vpc else (),
            ),
        )
        if scaling:
            EndpointAutoscaling(
                self,
                "Autoscaling",
                EndpointAutoscalingProps(
                    endpoint=self.endpoint,
                    min_capacity=scaling.min_capacity,
                    max_capacity=scaling.max_capacity,
                    target_invocations_per_instance=scaling.target_invocations_per_instance,
                    scale_in_cooldown_seconds=scaling.scale_in_cooldown_seconds,
                    scale_out_cooldown_seconds=scaling.scale_out_cooldown_seconds,
                    scheduled=[ScheduledCapacity(s.name, s.schedule, s.min_capacity, s.max_capacity) for s in scaling.scheduled],
                ),
            )

        ssm.StringParameter(
            self,
            "EndpointNameParameter",
            parameter_name=f"/{prefix}/inference/endpoint-name",
            string_value=self.endpoint.endpoint_name,
            description="Name of the real-time endpoint (stable across model versions)",
        )
        CfnOutput(self, "EndpointName", value=self.endpoint.endpoint_name, description="Send requests with clients/predict.py")
        CfnOutput(self, "VariantName", value=self.endpoint.variant_name)

    def _model_source(
        self, model: ModelVersion, default_framework_version: str, model_artifacts: SecureBucket, role: SageMakerExecutionRole
    ) -> ModelSource:
        version = model.framework_version or default_framework_version
        registry_account, repository, image = xgboost_image(version, self.region, "inference")
        role.allow_image_pull(registry_account, repository)
        if model.model_package_arn:
            # Packages registered by the training pipeline point into training-jobs/.
            model_artifacts.grant_read_prefix(role, TRAINING_JOBS_PREFIX)
            return ModelSource(model_package_arn=model.model_package_arn)
        assert model.artifact_key is not None
        model_artifacts.grant_read_object(role, model.artifact_key)
        return ModelSource(image_uri=image, model_data_url=f"{model_artifacts.s3_uri()}{model.artifact_key}")

    @staticmethod
    def _allow_vpc_networking(role: SageMakerExecutionRole) -> None:
        # SageMaker attaches the model's ENIs in the configured subnets; these EC2 actions have
        # no resource-level permissions for the ids it creates.
        role.role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "ec2:CreateNetworkInterface",
                    "ec2:CreateNetworkInterfacePermission",
                    "ec2:DeleteNetworkInterface",
                    "ec2:DeleteNetworkInterfacePermission",
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:DescribeVpcs",
                    "ec2:DescribeDhcpOptions",
                    "ec2:DescribeSubnets",
                    "ec2:DescribeSecurityGroups",
                ],
                resources=["*"],
            )
        )
        acknowledge_wildcard_resource(
            role,
            "*",
            "SageMaker creates and describes the model's network interfaces in the configured VPC; "
            "EC2 ENI actions have no resource-level scope.",
        )
