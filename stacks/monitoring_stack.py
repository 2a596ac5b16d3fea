"""Monitoring: one dashboard and the alarms of an environment, notifying one SNS topic."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns_subscriptions as subscriptions

from config.schema import ApiAlarmsConfig, MonitoringConfig
from constructs import Construct
from ml_constructs.monitoring import (
    ApiMetrics,
    ApiThresholds,
    DataQualityMetrics,
    EndpointMetrics,
    EndpointThresholds,
    ModelMonitoring,
    ModelMonitoringProps,
    ModelQualityMetrics,
    PipelineMetrics,
    ServiceIntegrationMetrics,
)
from ml_constructs.notifications import NotificationTopic, NotificationTopicProps

INTRODUCTION = """# {prefix}: model on-call view
Rows, top to bottom: **endpoint** traffic and instances, latency (µs), errors, instance resources
(CPU is summed over vCPUs); the **data quality** of its requests (drift per feature from the served version's
baseline) and, with labels, its **model quality**; then the **training** and **batch** pipelines: executions,
run time, job run time.
Every alarm's description links to its runbook entry: [runbook]({runbook}#runbook)."""


class MonitoringStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        prefix: str,
        monitoring: MonitoringConfig,
        notification_key: kms.IKey,
        training_pipeline_arn: str,
        batch_pipeline_arn: str | None,
        endpoint: EndpointMetrics | None,
        endpoint_vcpus: int | None,
        endpoint_gpus: int,
        api: ApiMetrics | None = None,
        api_alarms: ApiAlarmsConfig | None = None,
        data_quality: DataQualityMetrics | None = None,
        model_quality: ModelQualityMetrics | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.topic = NotificationTopic(
            self,
            "AlarmTopic",
            NotificationTopicProps(display_name=f"{prefix} alarms", encryption_key=notification_key, emails=monitoring.alarm_emails),
        )
        for url in monitoring.alarm_https_endpoints:
            self.topic.topic.add_subscription(subscriptions.UrlSubscription(url))
        # CloudWatch publishes with its service principal, for this environment's alarms only
        # (every alarm here is named <prefix>-<slug>, see AlarmFactory).
        self.topic.allow_alarms(prefix)

        self.monitoring = ModelMonitoring(
            self,
            "Monitoring",
            ModelMonitoringProps(
                name_prefix=prefix,
                topic=self.topic.topic,
                runbook_url=monitoring.runbook_url,
                dashboard_name=f"{prefix}-model",
                introduction=INTRODUCTION.format(prefix=prefix, runbook=monitoring.runbook_url),
            ),
        )
        if endpoint:
            e = monitoring.endpoint
            self.monitoring.monitor_endpoint(
                endpoint,
                EndpointThresholds(
                    error_rate_5xx_percent=e.error_rate_5xx_percent,
                    error_rate_4xx_percent=e.error_rate_4xx_percent,
                    p99_latency_ms=e.p99_latency_ms,
                    cpu_percent_per_core=e.cpu_percent_per_core,
                    memory_percent=e.memory_percent,
                    disk_percent=e.disk_percent,
                    gpu_percent_per_gpu=e.gpu_percent_per_gpu,
                    evaluation_periods=e.evaluation_periods,
                    datapoints_to_alarm=e.datapoints_to_alarm,
                    invocation_anomaly_detection=e.invocation_anomaly_detection,
                    anomaly_band_width=e.anomaly_band_width,
                ),
                vcpus=endpoint_vcpus,
                gpus=endpoint_gpus,
            )
        if api and api_alarms:
            a = api_alarms
            self.monitoring.monitor_api(
                api,
                ApiThresholds(
                    error_rate_5xx_percent=a.error_rate_5xx_percent,
                    error_rate_4xx_percent=a.error_rate_4xx_percent,
                    p99_integration_latency_ms=a.p99_integration_latency_ms,
                    evaluation_periods=a.evaluation_periods,
                    datapoints_to_alarm=a.datapoints_to_alarm,
                ),
            )
        self.drift_alarm = self.monitoring.monitor_data_quality(data_quality, monitoring.drift.threshold) if data_quality else None
        if model_quality and monitoring.model_quality:
            self.monitoring.monitor_model_quality(model_quality, monitoring.model_quality.alarm_below_auc)
        self.monitoring.monitor_pipeline(
            "Training pipeline",
            "training-pipeline",
            PipelineMetrics(training_pipeline_arn),
            ServiceIntegrationMetrics("arn:aws:states:::sagemaker:createTrainingJob.sync"),
            "Training job",
            "open the failed execution in Step Functions; its failure notification carries the cause "
            "(bad dataset, quality gate, job error).",
        )
        if batch_pipeline_arn:
            self.monitoring.monitor_pipeline(
                "Batch pipeline",
                "batch-pipeline",
                PipelineMetrics(batch_pipeline_arn),
                ServiceIntegrationMetrics("arn:aws:states:::sagemaker:createTransformJob.sync"),
                "Transform job",
                "open the failed execution in Step Functions, then the transform job's logs in /aws/sagemaker/TransformJobs.",
            )
        CfnOutput(self, "DashboardName", value=f"{prefix}-model")
        CfnOutput(self, "AlarmTopicArn", value=self.topic.topic_arn)
