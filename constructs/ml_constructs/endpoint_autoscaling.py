"""Target-tracking autoscaling for an instance-based endpoint variant."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from aws_cdk import Duration, Stack
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_iam as iam

from constructs import Construct
from ml_constructs.endpoint import RealtimeEndpoint


@dataclass(frozen=True)
class ScheduledCapacity:
    name: str
    schedule_expression: str
    """``cron(...)`` or ``rate(...)``, UTC."""
    min_capacity: int
    max_capacity: int


@dataclass(frozen=True)
class EndpointAutoscalingProps:
    endpoint: RealtimeEndpoint
    min_capacity: int
    max_capacity: int
    target_invocations_per_instance: float
    """Invocations per instance per minute to hold (AWS: max RPS x safety factor x 60)."""
    scale_in_cooldown_seconds: int = 300
    scale_out_cooldown_seconds: int = 60
    scheduled: Sequence[ScheduledCapacity] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if not 1 <= self.min_capacity <= self.max_capacity:
            raise ValueError(
                f"EndpointAutoscalingProps: need 1 <= min_capacity ({self.min_capacity}) <= max_capacity ({self.max_capacity})"
            )
        if self.target_invocations_per_instance <= 0:
            raise ValueError(
                f"EndpointAutoscalingProps.target_invocations_per_instance: {self.target_invocations_per_instance} must be > 0"
            )


class EndpointAutoscaling(Construct):
    """Scales ``DesiredInstanceCount`` to hold invocations per instance at the target.

    SageMaker refuses to change the instance type of a variant registered here ("Update or
    delete an endpoint that uses auto scaling",
    https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-auto-scaling-delete.html), and
    CloudFormation would deregister only after the endpoint update: leave this construct out
    for one deployment (``autoscaling.suspended``) to change the type.
    """

    def __init__(self, scope: Construct, construct_id: str, props: EndpointAutoscalingProps) -> None:
        super().__init__(scope, construct_id)
        endpoint = props.endpoint
        stack = Stack.of(self)
        # Application Auto Scaling acts for SageMaker through its service-linked role; without
        # this, CDK would create an unused role of its own.
        service_linked_role = iam.Role.from_role_arn(
            self,
            "ServiceLinkedRole",
            stack.format_arn(
                service="iam",
                region="",
                resource="role",
                resource_name="aws-service-role/sagemaker.application-autoscaling.amazonaws.com/"
                "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint",
            ),
            mutable=False,
        )
        self.target = appscaling.ScalableTarget(
            self,
            "Target",
            service_namespace=appscaling.ServiceNamespace.SAGEMAKER,
            resource_id=f"endpoint/{endpoint.endpoint_name}/variant/{endpoint.variant_name}",
            scalable_dimension="sagemaker:variant:DesiredInstanceCount",
            min_capacity=props.min_capacity,
            max_capacity=props.max_capacity,
            role=service_linked_role,
        )
        # The variant must exist (the endpoint in service) before it can be registered.
        self.target.node.add_dependency(endpoint.endpoint)
        self.target.scale_to_track_metric(
            "InvocationsPerInstance",
            target_value=props.target_invocations_per_instance,
            predefined_metric=appscaling.PredefinedMetric.SAGEMAKER_VARIANT_INVOCATIONS_PER_INSTANCE,
            scale_in_cooldown=Duration.seconds(props.scale_in_cooldown_seconds),
            scale_out_cooldown=Duration.seconds(props.scale_out_cooldown_seconds),
        )
        for scheduled in props.scheduled:
            self.target.scale_on_schedule(
                scheduled.name,
                schedule=appscaling.Schedule.expression(scheduled.schedule_expression),
                min_capacity=scheduled.min_capacity,
                max_capacity=scheduled.max_capacity,
            )
