"""The Monitoring stack: a dashboard that shows every signal, alarms that say what to do."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from config import load_environment
from tests.conftest import SynthesizedEnvironment, SynthesizedStack, synthesize
from tests.support.asl import rendered_json

ACCOUNTS = {"dev": "111111111111", "prod": "222222222222"}


@pytest.fixture(params=["dev", "prod"], scope="module")
def monitoring(request: pytest.FixtureRequest, synthesized: dict[str, SynthesizedEnvironment]) -> SynthesizedStack:
    return synthesized[request.param]["Monitoring"]


def dashboard_metrics(stack: SynthesizedStack) -> list[dict[str, Any]]:
    """Every plain metric of every graph: namespace, name, dimensions, statistic."""
    body = rendered_json(stack.resource("AWS::CloudWatch::Dashboard")["Properties"]["DashboardBody"])
    found = []
    for widget in body["widgets"]:
        for entry in widget.get("properties", {}).get("metrics", []):
            if isinstance(entry[0], dict):  # a math expression
                continue
            namespace, name, *rest = entry
            options = rest[-1] if rest and isinstance(rest[-1], dict) else {}
            labels = rest[:-1] if options else rest
            dimensions = dict(zip(labels[::2], labels[1::2], strict=True))
            found.append(
                {"namespace": namespace, "name": name, "dimensions": dimensions, "stat": options.get("stat", "Average")}
            )  # CloudWatch's default
    return found


def has_metric(metrics: list[dict[str, Any]], namespace: str, name: str, stat: str, **dimensions: str) -> bool:
    return any(
        m["namespace"] == namespace
        and m["name"] == name
        and m["stat"] == stat
        and all(m["dimensions"].get(k) == v for k, v in dimensions.items())
        for m in metrics
    )


def test_dashboard_shows_every_endpoint_signal(monitoring: SynthesizedStack) -> None:
    env = monitoring.environment
    metrics = dashboard_metrics(monitoring)
    variant = {"dev": "primary", "prod": "primary"}[env]
    endpoint = {"EndpointName": f"mlops-{env}-xgboost", "VariantName": variant}
    expected = [
        ("AWS/SageMaker", "Invocations", "Sum"),
        ("AWS/SageMaker", "InvocationsPerInstance", "Sum"),
        ("AWS/SageMaker", "Invocation4XXErrors", "Sum"),
        ("AWS/SageMaker", "Invocation5XXErrors", "Sum"),
        *[("AWS/SageMaker", "ModelLatency", p) for p in ("p50", "p90", "p99")],
        *[("AWS/SageMaker", "OverheadLatency", p) for p in ("p50", "p90", "p99")],
        ("/aws/sagemaker/Endpoints", "CPUUtilization", "Average"),
        ("/aws/sagemaker/Endpoints", "MemoryUtilization", "Average"),
        ("/aws/sagemaker/Endpoints", "DiskUtilization", "Average"),
    ]
    for namespace, name, stat in expected:
        assert has_metric(metrics, namespace, name, stat, **endpoint), (namespace, name, stat)


def test_dashboard_shows_both_pipelines(monitoring: SynthesizedStack) -> None:
    metrics = dashboard_metrics(monitoring)
    machines = {m["dimensions"]["StateMachineArn"] for m in metrics if "StateMachineArn" in m["dimensions"]}
    assert len(machines) == 2, "training and batch"
    for machine in machines:
        for name in ("ExecutionsStarted", "ExecutionsSucceeded", "ExecutionsFailed", "ExecutionsTimedOut"):
            assert has_metric(metrics, "AWS/States", name, "Sum", StateMachineArn=machine), name
        assert has_metric(metrics, "AWS/States", "ExecutionTime", "Maximum", StateMachineArn=machine)
    for job in ("createTrainingJob.sync", "createTransformJob.sync"):
        arn = f"arn:aws:states:::sagemaker:{job}"
        assert has_metric(metrics, "AWS/States", "ServiceIntegrationRunTime", "Maximum", ServiceIntegrationResourceArn=arn)


def test_dashboard_says_what_the_rows_mean_and_links_the_runbook(monitoring: SynthesizedStack) -> None:
    body = rendered_json(monitoring.resource("AWS::CloudWatch::Dashboard")["Properties"]["DashboardBody"])
    texts = [w["properties"]["markdown"] for w in body["widgets"] if w["type"] == "text"]
    assert "README.md#runbook" in texts[0]
    assert "CPU is summed over vCPUs" in texts[0]
    assert any("Endpoint `mlops-" in t for t in texts)


def alarms(stack: SynthesizedStack) -> dict[str, dict[str, Any]]:
    found = {}
    for kind in ("AWS::CloudWatch::Alarm", "AWS::CloudWatch::CompositeAlarm"):
        for resource in stack.resources(kind).values():
            properties = resource["Properties"]
            found[properties.get("AlarmName")] = properties
    return found


def test_every_alarm_notifies_the_topic_on_alarm_and_ok_and_says_what_to_do(monitoring: SynthesizedStack) -> None:
    (topic_id,) = monitoring.resources("AWS::SNS::Topic")
    found = alarms(monitoring)
    assert len(found) >= 8
    for name, alarm in found.items():
        assert re.search(r"First: .+ Runbook: https://.+README\.md#[a-z0-9-]+$", alarm["AlarmDescription"]), name
        slug = name.removeprefix(f"mlops-{monitoring.environment}-")
        if slug.startswith("data-drift-feature-"):
            # Members of data-drift, which notifies once for all of them and is their runbook entry.
            assert "AlarmActions" not in alarm, name
            assert alarm["AlarmDescription"].endswith("#data-drift")
            continue
        assert alarm["AlarmActions"] == [{"Ref": topic_id}], name
        assert alarm["OKActions"] == [{"Ref": topic_id}], name
        assert alarm["AlarmDescription"].endswith(f"#{slug}")


def test_every_notifying_alarm_has_its_runbook_entry(monitoring: SynthesizedStack) -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    entries = set(re.findall(r"^#### ([a-z0-9-]+)$", readme, flags=re.MULTILINE))
    slugs = {name.removeprefix(f"mlops-{monitoring.environment}-") for name, alarm in alarms(monitoring).items() if "AlarmActions" in alarm}
    assert slugs - entries == set()


def test_alarm_set_and_missing_data_policy(monitoring: SynthesizedStack) -> None:
    env = monitoring.environment
    found = {name.removeprefix(f"mlops-{env}-"): alarm for name, alarm in alarms(monitoring).items()}
    expected = {
        "endpoint-5xx-error-rate": "notBreaching",
        "endpoint-4xx-error-rate": "notBreaching",
        "endpoint-p99-model-latency": "notBreaching",
        "endpoint-cpu-utilization": "missing",
        "endpoint-memory-utilization": "missing",
        "endpoint-disk-utilization": "missing",
        "training-pipeline-failed": "notBreaching",
        "batch-pipeline-failed": "notBreaching",
        # No run, no drift value; two runs without a result are an alarm of their own.
        **{f"data-drift-feature-{i}": "notBreaching" for i in range(30)},
        "data-quality-no-results": "breaching",
    }
    if env == "dev":  # dev's config has monitoring.model_quality with alarm_below_auc
        expected["model-quality-auc"] = "notBreaching"
    if env == "prod":
        expected["endpoint-invocations-anomaly"] = "breaching"
    if monitoring.environment == "dev":  # dev's config has inference.api
        expected |= dict.fromkeys(["api-5xx-error-rate", "api-4xx-error-rate", "api-p99-integration-latency"], "notBreaching")
    assert set(found) == {*expected, "endpoint-unhealthy", "data-drift"}
    for slug, missing in expected.items():
        assert found[slug]["TreatMissingData"] == missing, slug


def test_thresholds_convert_units_and_scale_with_the_instance(synthesized: dict[str, SynthesizedEnvironment]) -> None:
    for env, vcpus in (("dev", 2), ("prod", 4)):
        config = synthesized[env].config.monitoring.endpoint
        found = {name.removeprefix(f"mlops-{env}-"): alarm for name, alarm in alarms(synthesized[env]["Monitoring"]).items()}
        assert found["endpoint-p99-model-latency"]["Threshold"] == config.p99_latency_ms * 1000, "SageMaker reports microseconds"
        assert found["endpoint-cpu-utilization"]["Threshold"] == config.cpu_percent_per_core * vcpus, "summed over vCPUs"
        assert found["endpoint-5xx-error-rate"]["Threshold"] == config.error_rate_5xx_percent
        assert found["endpoint-5xx-error-rate"]["EvaluationPeriods"] == config.evaluation_periods
        assert found["endpoint-5xx-error-rate"]["DatapointsToAlarm"] == config.datapoints_to_alarm
        expressions = [m for m in found["endpoint-5xx-error-rate"]["Metrics"] if "Expression" in m]
        assert expressions[0]["Expression"] == "IF(invocations > 0, 100 * errors5xx / invocations, 0)"


def test_pipeline_failure_counts_failed_timed_out_and_aborted(monitoring: SynthesizedStack) -> None:
    alarm = alarms(monitoring)[f"mlops-{monitoring.environment}-training-pipeline-failed"]
    (expression,) = [m for m in alarm["Metrics"] if "Expression" in m]
    assert expression["Expression"] == "FILL(failed, 0) + FILL(timedOut, 0) + FILL(aborted, 0)"
    names = {m["MetricStat"]["Metric"]["MetricName"] for m in alarm["Metrics"] if "MetricStat" in m}
    assert names == {"ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"}
    assert (alarm["Threshold"], alarm["ComparisonOperator"], alarm["EvaluationPeriods"]) == (0, "GreaterThanThreshold", 1)


def test_endpoint_unhealthy_is_any_of_errors_latency_and_saturation(monitoring: SynthesizedStack) -> None:
    composite = alarms(monitoring)[f"mlops-{monitoring.environment}-endpoint-unhealthy"]
    rule = "".join(p if isinstance(p, str) else "<ref>" for p in composite["AlarmRule"]["Fn::Join"][1])
    assert rule.count("ALARM(") == 4, "5XX rate, p99 latency, CPU, memory"
    assert rule.count(" OR ") == 3


def test_alarm_topic_is_encrypted_tls_only_and_lets_cloudwatch_publish(monitoring: SynthesizedStack) -> None:
    topic = monitoring.resource("AWS::SNS::Topic")
    assert "Fn::ImportValue" in topic["Properties"]["KmsMasterKeyId"]
    statements = monitoring.resource("AWS::SNS::TopicPolicy")["Properties"]["PolicyDocument"]["Statement"]
    assert any(s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in statements)
    assert any(s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"} and s["Action"] == "sns:Publish" for s in statements)
    emails = [s["Properties"]["Endpoint"] for s in monitoring.resources("AWS::SNS::Subscription").values()]
    assert emails == load_environment(monitoring.environment).monitoring.alarm_emails


def test_the_notification_key_lets_cloudwatch_encrypt_alarm_notifications(synthesized: dict[str, SynthesizedEnvironment]) -> None:
    keys = synthesized["prod"]["Data"].resources("AWS::KMS::Key")
    (key,) = [k for name, k in keys.items() if name.startswith("NotificationKey")]
    statements = key["Properties"]["KeyPolicy"]["Statement"]
    assert any(
        s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"} and set(s["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey"}
        for s in statements
    )


def test_gpu_instances_get_gpu_widgets_and_alarm(tmp_path: Path) -> None:
    from config.schema import InferenceConfig

    config = load_environment("dev")
    inference = InferenceConfig.model_validate(
        config.inference.model_dump() | {"variant": {"instance_type": "ml.g4dn.xlarge", "initial_instance_count": 1}}  # type: ignore[union-attr]
    )
    stack = synthesize([config.model_copy(update={"inference": inference})], tmp_path)["dev"]["Monitoring"]
    assert has_metric(dashboard_metrics(stack), "/aws/sagemaker/Endpoints", "GPUUtilization", "Average", VariantName="primary")
    gpu = alarms(stack)["mlops-dev-endpoint-gpu-utilization"]
    assert gpu["Threshold"] == 90 * 1, "one GPU on ml.g4dn.xlarge"


def metric_of(alarm: dict[str, Any]) -> dict[str, Any]:
    """An alarm's one metric, written inline or (with a label) as a MetricStat query."""
    if "MetricName" in alarm:
        dimensions = {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])}
        return {k: alarm[k] for k in ("Namespace", "MetricName", "Statistic", "Period")} | {"Dimensions": dimensions}
    (query,) = alarm["Metrics"]
    stat = query["MetricStat"]
    metric = stat["Metric"]
    dimensions = {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}
    return {"Namespace": metric["Namespace"], "MetricName": metric["MetricName"], "Statistic": stat["Stat"], "Period": stat["Period"]} | {
        "Dimensions": dimensions
    }


def test_one_drift_alarm_per_feature_on_the_schedules_metrics(monitoring: SynthesizedStack) -> None:
    env = monitoring.environment
    config = load_environment(env)
    found = alarms(monitoring)
    features = config.inference.model.features  # type: ignore[union-attr]
    for index in range(features):
        alarm = found[f"mlops-{env}-data-drift-feature-{index}"]
        metric = metric_of(alarm)
        assert metric["Namespace"] == "aws/sagemaker/Endpoints/data-metrics"
        assert metric["MetricName"] == f"feature_baseline_drift__c{index}", "the analyzer names CSV columns _c0, _c1, ..."
        assert metric["Dimensions"] == {"Endpoint": f"mlops-{env}-xgboost", "MonitoringSchedule": f"mlops-{env}-data-quality"}
        assert (metric["Statistic"], metric["Period"]) == ("Maximum", 3600 * config.monitoring.data_quality.cadence_hours)
        assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (config.monitoring.drift.threshold, "GreaterThanThreshold")
    assert f"mlops-{env}-data-drift-feature-{features}" not in found


def test_data_drift_fires_when_any_feature_drifts(monitoring: SynthesizedStack) -> None:
    composite = alarms(monitoring)[f"mlops-{monitoring.environment}-data-drift"]
    rule = "".join(p if isinstance(p, str) else "<ref>" for p in composite["AlarmRule"]["Fn::Join"][1])
    assert rule.count("ALARM(") == 30
    assert rule.count(" OR ") == 29


def test_a_schedule_that_stops_reporting_is_an_alarm(monitoring: SynthesizedStack) -> None:
    alarm = alarms(monitoring)[f"mlops-{monitoring.environment}-data-quality-no-results"]
    metric = metric_of(alarm)
    assert (metric["MetricName"], metric["Statistic"]) == ("feature_baseline_drift__c0", "SampleCount")
    assert (alarm["Threshold"], alarm["ComparisonOperator"], alarm["TreatMissingData"]) == (1, "LessThanThreshold", "breaching")
    assert alarm["EvaluationPeriods"] == alarm["DatapointsToAlarm"] == 2


def test_dashboard_shows_each_features_drift(monitoring: SynthesizedStack) -> None:
    metrics = dashboard_metrics(monitoring)
    schedule = {"Endpoint": f"mlops-{monitoring.environment}-xgboost", "MonitoringSchedule": f"mlops-{monitoring.environment}-data-quality"}
    for index in (0, 29):
        assert has_metric(metrics, "aws/sagemaker/Endpoints/data-metrics", f"feature_baseline_drift__c{index}", "Maximum", **schedule)


def test_model_quality_auc_alarm_where_labels_arrive(synthesized: dict[str, SynthesizedEnvironment]) -> None:
    dev, prod = alarms(synthesized["dev"]["Monitoring"]), alarms(synthesized["prod"]["Monitoring"])
    assert "mlops-prod-model-quality-auc" not in prod, "prod has no ground truth configured"
    alarm = dev["mlops-dev-model-quality-auc"]
    metric = metric_of(alarm)
    assert (metric["Namespace"], metric["MetricName"], metric["Statistic"]) == ("aws/sagemaker/Endpoints/model-metrics", "auc", "Minimum")
    assert metric["Dimensions"] == {"Endpoint": "mlops-dev-xgboost", "MonitoringSchedule": "mlops-dev-model-quality"}
    assert metric["Period"] == 24 * 3600
    model_quality = synthesized["dev"].config.monitoring.model_quality
    assert model_quality is not None
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (model_quality.alarm_below_auc, "LessThanThreshold")
