"""How to alarm: shared defaults for every alarm (naming, actions, descriptions that say what
to do), so that each alarm states only what is particular to it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_sns as sns

from constructs import Construct


@dataclass(frozen=True)
class AlarmSpec:
    slug: str
    """Short, stable name: the alarm is ``<name_prefix>-<slug>``."""
    metric: cloudwatch.IMetric
    threshold: float
    meaning: str
    """What it means when it fires."""
    first_step: str
    """What to do first."""
    comparison: cloudwatch.ComparisonOperator = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
    evaluation_periods: int = 5
    datapoints_to_alarm: int = 3
    missing_data: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING
    notify: bool = True
    """False for members of a composite alarm that notifies for them (one message, not one per member)."""
    runbook_entry: str | None = None
    """The runbook entry the description links to (default: the slug's own)."""

    def __post_init__(self) -> None:
        if not 1 <= self.datapoints_to_alarm <= self.evaluation_periods:
            raise ValueError(
                f"AlarmSpec {self.slug}: datapoints_to_alarm ({self.datapoints_to_alarm}) must be between 1 and "
                f"evaluation_periods ({self.evaluation_periods})"
            )


def alarm_name(name_prefix: str, slug: str) -> str:
    """What the factory names an alarm: known before the alarm exists, e.g. to a rule in another stack."""
    return f"{name_prefix}-{slug}"


@dataclass(frozen=True)
class AlarmFactoryProps:
    name_prefix: str
    topic: sns.ITopic
    runbook_url: str


class AlarmFactory(Construct):
    """Creates alarms named ``<prefix>-<slug>`` that notify the topic on ALARM and on OK."""

    def __init__(self, scope: Construct, construct_id: str, props: AlarmFactoryProps) -> None:
        super().__init__(scope, construct_id)
        self.props = props
        self.alarms: dict[str, cloudwatch.Alarm] = {}

    def name_of(self, slug: str) -> str:
        return alarm_name(self.props.name_prefix, slug)

    def _description(self, meaning: str, first_step: str, slug: str) -> str:
        return f"{meaning} First: {first_step} Runbook: {self.props.runbook_url}#{slug}"

    def _notify(self, alarm: cloudwatch.AlarmBase) -> None:
        action = actions.SnsAction(self.props.topic)
        alarm.add_alarm_action(action)
        alarm.add_ok_action(action)

    def _common(self, spec: AlarmSpec) -> dict[str, Any]:
        """What every alarm of the factory shares, from its spec."""
        if spec.slug in self.alarms:
            raise ValueError(f"alarm {spec.slug!r} is defined twice")
        return {
            "alarm_name": self.name_of(spec.slug),
            "alarm_description": self._description(spec.meaning, spec.first_step, spec.runbook_entry or spec.slug),
            "metric": spec.metric,
            "evaluation_periods": spec.evaluation_periods,
            "datapoints_to_alarm": spec.datapoints_to_alarm,
            "treat_missing_data": spec.missing_data,
        }

    def _register(self, slug: str, alarm: cloudwatch.Alarm, notify: bool = True) -> cloudwatch.Alarm:
        if notify:
            self._notify(alarm)
        self.alarms[slug] = alarm
        return alarm

    def add(self, spec: AlarmSpec) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(self, spec.slug, threshold=spec.threshold, comparison_operator=spec.comparison, **self._common(spec))
        return self._register(spec.slug, alarm, spec.notify)

    def add_anomaly(self, spec: AlarmSpec, band_width: float) -> cloudwatch.Alarm:
        """Alarm when the metric leaves CloudWatch's anomaly-detection band (``threshold`` unused)."""
        alarm = cloudwatch.AnomalyDetectionAlarm(
            self,
            spec.slug,
            std_devs=band_width,
            comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_LOWER_OR_GREATER_THAN_UPPER_THRESHOLD,
            **self._common(spec),
        )
        return self._register(spec.slug, alarm)

    def add_composite(self, slug: str, members: Sequence[cloudwatch.IAlarm], meaning: str, first_step: str) -> cloudwatch.CompositeAlarm:
        """ALARM when any member is in ALARM."""
        composite = cloudwatch.CompositeAlarm(
            self,
            slug,
            composite_alarm_name=self.name_of(slug),
            alarm_description=self._description(meaning, first_step, slug),
            alarm_rule=cloudwatch.AlarmRule.any_of(*(cloudwatch.AlarmRule.from_alarm(a, cloudwatch.AlarmState.ALARM) for a in members)),
        )
        self._notify(composite)
        return composite
