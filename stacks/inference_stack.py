"""Inference: the configured model version behind an autoscaled, safely updated endpoint."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from aws_cdk import ArnFormat, CfnOutput, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_ssm as ssm

from config.schema import DataQualityMonitorConfig, InferenceConfig, ModelQualityMonitorConfig
from constructs import Construct
from ml_constructs import SecureBucket
from ml_constructs.data_quality_monitor import (
    AnalyzerImage,
    DataQualityMonitor,
    DataQualityMonitorProps,
    ModelQualityMonitor,
    ModelQualityMonitorProps,
)
from ml_constructs.endpoint import (
    DataCapture,
    InstanceVariant,
    RealtimeEndpoint,
    RealtimeEndpointProps,
    ServerlessVariant,
    TrafficShift,
)
from ml_constructs.endpoint_autoscaling import EndpointAutoscaling, EndpointAutoscalingProps, ScheduledCapacity
from ml_constructs.images import model_monitor_image
from ml_constructs.nag import partition_of
from stacks.configured_model import ConfiguredModel
from stacks.data_stack import DATA_CAPTURE_PREFIX, MONITORING_REPORTS_PREFIX

MonitorT = TypeVar("MonitorT", DataQualityMonitor, ModelQualityMonitor)


def endpoint_variant(inference: InferenceConfig) -> InstanceVariant | ServerlessVariant:
    if inference.variant:
        return InstanceVariant(inference.variant.instance_type, inference.variant.initial_instance_count)
    assert inference.serverless is not None
    return ServerlessVariant(inference.serverless.memory_size_mb, inference.serverless.max_concurrency)


def prediction_api_name(prefix: str) -> str:
    """Stable: the Monitoring stack's alarms name the API by it (ApiName dimension)."""
    return f"{prefix}-predictions"


def data_quality_schedule_name(prefix: str) -> str:
    """Stable across model versions: the Monitoring stack's drift alarms name it (MonitoringSchedule dimension)."""
    return f"{prefix}-data-quality"


def model_quality_schedule_name(prefix: str) -> str:
    return f"{prefix}-model-quality"


def smoke_test_role_name(prefix: str) -> str:
    """Stable, so that the delivery pipeline (another account, maybe) can name it without a lookup."""
    return f"{prefix}-endpoint-smoke-test"


def smoke_test_runner_role_name(prefix: str) -> str:
    """The delivery pipeline's CodeBuild role for this environment's smoke test (in the tooling
    account): the one principal the smoke-test role trusts."""
    return f"{prefix}-smoke-test-runner"


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
        rollback_alarm_names: list[str],
        smoke_test_account: str | None = None,
        retain_logs: bool = True,
        data_quality: DataQualityMonitorConfig | None = None,
        model_quality: ModelQualityMonitorConfig | None = None,
        resource_tags: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.resource_tags = dict(resource_tags or {})
        model = inference.model
        assert model is not None, "the stage creates this stack only when a model is configured"

        served = ConfiguredModel(
            self,
            "Model",
            description=f"Hosts the {prefix} endpoint's model",
            log_kinds=("Endpoints",),
            endpoint_name=endpoint_name,
            model=model,
            default_framework_version=default_framework_version,
            model_artifacts=model_artifacts,
            encryption_key=encryption_key,
            vpc=inference.vpc,
        )
        if inference.data_capture.enabled:
            model_artifacts.grant_write_prefix(served.role, DATA_CAPTURE_PREFIX)
        served.role.allow_alarm_reads(
            [
                self.format_arn(service="cloudwatch", resource="alarm", resource_name=name, arn_format=ArnFormat.COLON_RESOURCE_NAME)
                for name in rollback_alarm_names
            ]
        )
        scaling = inference.autoscaling if inference.autoscaling_enabled else None
        shift = inference.deployment
        self.endpoint = RealtimeEndpoint(
            self,
            "Endpoint",
            RealtimeEndpointProps(
                endpoint_name=endpoint_name,
                model=served.hosted,
                variant=endpoint_variant(inference),
                rollback_alarm_names=rollback_alarm_names,
                encryption_key=encryption_key,
                traffic_shift=TrafficShift(
                    strategy=shift.strategy,
                    canary_percent=shift.canary_percent,
                    linear_step_percent=shift.linear_step_percent,
                    wait_interval_seconds=shift.wait_interval_seconds,
                    termination_wait_seconds=shift.termination_wait_seconds,
                    maximum_execution_timeout_seconds=shift.maximum_execution_timeout_seconds,
                ),
                data_capture=DataCapture(
                    destination_s3_uri=model_artifacts.s3_uri(DATA_CAPTURE_PREFIX),
                    sampling_percentage=inference.data_capture.sampling_percentage,
                )
                if inference.data_capture.enabled
                else None,
                # Also while autoscaling is suspended: the endpoint itself does not change for
                # that deployment, and the next one keeps the capacity the scaler had set.
                retain_instance_count=inference.autoscaling_configured,
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

        self.data_quality = self._data_quality_monitor(prefix, endpoint_name, inference, data_quality, model_artifacts, encryption_key)
        self.model_quality = self._model_quality_monitor(prefix, endpoint_name, model_quality, model_artifacts, encryption_key)

        ssm.StringParameter(
            self,
            "EndpointNameParameter",
            parameter_name=f"/{prefix}/inference/endpoint-name",
            string_value=self.endpoint.endpoint_name,
            description="Name of the real-time endpoint (stable across model versions)",
        )
        if smoke_test_account:
            # The delivery pipeline's smoke test may send requests, and do nothing else.
            smoke_test = iam.Role(
                self,
                "SmokeTestRole",
                role_name=smoke_test_role_name(prefix),
                # Not the whole tooling account: only the smoke test's own CodeBuild role. Matched
                # by aws:PrincipalArn rather than named as the principal, so that the trust stays
                # valid if that role is re-created (IAM User Guide, "AWS JSON policy elements:
                # Principal", role principals are converted to the role's unique id,
                # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html).
                assumed_by=iam.PrincipalWithConditions(
                    iam.AccountPrincipal(smoke_test_account),
                    {
                        "ArnEquals": {
                            "aws:PrincipalArn": f"arn:{partition_of(self.region)}:iam::{smoke_test_account}:role/"
                            f"{smoke_test_runner_role_name(prefix)}"
                        }
                    },
                ),
                description=f"Assumed by the delivery pipeline's smoke test to call {self.endpoint.endpoint_name}",
            )
            self.endpoint.grant_invoke(smoke_test)
        self.api = self._prediction_api(prefix, endpoint_name, inference, encryption_key, retain_logs)
        if self.api and smoke_test_account and inference.api and inference.api.auth == "iam":
            self.api.grant_invoke(smoke_test)
        self.endpoint_name_output = CfnOutput(
            self, "EndpointName", value=self.endpoint.endpoint_name, description="Send requests with clients/predict.py"
        )
        CfnOutput(self, "VariantName", value=self.endpoint.variant_name)

    def _data_quality_monitor(
        self,
        prefix: str,
        endpoint_name: str,
        inference: InferenceConfig,
        config: DataQualityMonitorConfig | None,
        model_artifacts: SecureBucket,
        encryption_key: kms.IKey,
    ) -> DataQualityMonitor | None:
        """Model Monitor on the captured requests, against the baseline of the version this stack serves."""
        if config is None or not config.enabled:
            return None
        assert inference.model is not None
        baseline = inference.model.baseline
        assert baseline is not None, "config.schema requires a baseline when data-quality monitoring is on"
        common = self._monitor_props(data_quality_schedule_name(prefix), endpoint_name, config, model_artifacts, encryption_key)
        monitor = DataQualityMonitor(self, "DataQuality", DataQualityMonitorProps(**common, baseline_prefix=baseline))
        return self._schedule_after_endpoint(monitor, "DataQualityScheduleName", "Model Monitor on the captured requests")

    def _model_quality_monitor(
        self,
        prefix: str,
        endpoint_name: str,
        config: ModelQualityMonitorConfig | None,
        model_artifacts: SecureBucket,
        encryption_key: kms.IKey,
    ) -> ModelQualityMonitor | None:
        """Model quality once labels arrive: the captured predictions merged with the ground truth by inference id."""
        if config is None:
            return None
        common = self._monitor_props(model_quality_schedule_name(prefix), endpoint_name, config, model_artifacts, encryption_key)
        props = ModelQualityMonitorProps(
            **common,
            ground_truth_prefix=config.ground_truth_prefix,
            probability_threshold=config.probability_threshold,
            ground_truth_delay_hours=config.ground_truth_delay_hours,
        )
        monitor = ModelQualityMonitor(self, "ModelQuality", props)
        return self._schedule_after_endpoint(monitor, "ModelQualityScheduleName", "Model quality against the ground truth")

    def _monitor_props(
        self,
        schedule_name: str,
        endpoint_name: str,
        config: DataQualityMonitorConfig | ModelQualityMonitorConfig,
        model_artifacts: SecureBucket,
        encryption_key: kms.IKey,
    ) -> dict[str, Any]:
        """What both kinds of monitoring schedule take from the environment and their config."""
        registry_account, repository, image = model_monitor_image(self.region)
        return {
            "schedule_name": schedule_name,
            "endpoint_name": endpoint_name,
            "analyzer": AnalyzerImage(registry_account, repository, image),
            "artifacts": model_artifacts,
            "capture_prefix": DATA_CAPTURE_PREFIX,
            "report_prefix": f"{MONITORING_REPORTS_PREFIX}{schedule_name}/",
            "encryption_key": encryption_key,
            "cadence_hours": config.cadence_hours,
            "instance_type": config.instance_type,
            "volume_size_gb": config.volume_size_gb,
            "max_runtime_seconds": config.max_runtime_seconds,
            "tags": tuple(sorted(self.resource_tags.items())),
        }

    def _schedule_after_endpoint(self, monitor: MonitorT, output_id: str, description: str) -> MonitorT:
        # The schedule names the endpoint, which must exist first.
        monitor.schedule.node.add_dependency(self.endpoint.endpoint)
        CfnOutput(self, output_id, value=monitor.schedule_name, description=description)
        return monitor

    def _prediction_api(
        self, prefix: str, endpoint_name: str, inference: InferenceConfig, encryption_key: kms.IKey, retain_logs: bool
    ) -> Any:
        api = inference.api
        if api is None:
            return None
        # Imported here: environments without an API do not load the API Gateway modules.
        from ml_constructs.prediction_api import ApiClientPlan, ApiThrottle, PredictionApi, PredictionApiProps, WafRateRule

        prediction_api = PredictionApi(
            self,
            "PredictionApi",
            PredictionApiProps(
                api_name=prediction_api_name(prefix),
                endpoint_name=endpoint_name,
                encryption_key=encryption_key,
                throttle=ApiThrottle(api.throttle.rate_limit_rps, api.throttle.burst_limit),
                auth=api.auth,
                open_to_anyone=api.open_to_anyone,
                clients=[
                    ApiClientPlan(c.name, c.quota_per_day, ApiThrottle(c.throttle.rate_limit_rps, c.throttle.burst_limit))
                    for c in api.clients
                ],
                cognito_user_pool_arn=api.cognito_user_pool_arn,
                waf=WafRateRule(api.waf.rate_limit, api.waf.window_seconds) if api.waf else None,
                log_retention_days=api.access_log_retention_days,
                retain_logs=retain_logs,
            ),
        )
        prediction_api.node.add_dependency(self.endpoint.endpoint)
        self.api_url_output = CfnOutput(
            self, "PredictionApiUrl", value=prediction_api.url, description="POST text/csv rows here: python -m clients.predict --via api"
        )
        return prediction_api
