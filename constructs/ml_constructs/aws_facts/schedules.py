"""Schedule expressions as EventBridge and Application Auto Scaling accept them.

No model carries this grammar (botocore types ``ScheduleExpression`` as a string of at most 256
characters), so it is written here from the documentation:

- EventBridge rules, "Creating a rule that runs on a schedule":
  https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html
  (the cron field table, "You can't specify the Day-of-month and Day-of-week fields in the same
  cron expression. If you specify a value or a * (asterisk) in one of the fields, you must use a
  ? (question mark) in the other", and rate: "If the value is equal to 1, then the unit must be
  singular. If the value is greater than 1, the unit must be plural").
- Application Auto Scaling scheduled actions (PutScheduledAction ``Schedule``, whose botocore
  documentation tests/test_config.py holds this module to): the same six-field cron and rate,
  plus one-time ``at(yyyy-mm-ddThh:mm:ss)``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

ScheduleUse = Literal["eventbridge", "application-autoscaling"]

MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
RATE_UNITS = ("minute", "hour", "day")


@dataclass(frozen=True)
class CronField:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    # The wildcards beyond , - * / that this field accepts (from the EventBridge field table).
    extra: str = ""

    def value(self, text: str) -> int | None:
        upper = text.upper()
        if upper in self.names:
            return self.names.index(upper) + 1
        return int(text) if text.isdigit() else None


CRON_FIELDS = (
    CronField("minutes", 0, 59),
    CronField("hours", 0, 23),
    CronField("day-of-month", 1, 31, extra="?LW"),
    CronField("month", 1, 12, MONTHS),
    CronField("day-of-week", 1, 7, WEEKDAYS, extra="?L#"),
    CronField("year", 1970, 2199),
)
CRON_EXAMPLE = "cron(0 3 ? * MON *) is 03:00 UTC every Monday"


class ScheduleError(ValueError):
    """What is wrong with an expression, worded as the rule it breaks."""


def check_schedule(expression: str, use: ScheduleUse = "eventbridge") -> str:
    """The expression, or ScheduleError naming the rule it breaks."""
    scaling = use == "application-autoscaling"
    forms = "rate(<n> <unit>), cron(<6 fields>)" + (" or at(yyyy-mm-ddThh:mm:ss)" if scaling else "")
    match = re.fullmatch(r"(rate|cron|at)\((.*)\)", expression)
    if not match or (match.group(1) == "at" and not scaling):
        raise ScheduleError(f"allowed: an {'Application Auto Scaling' if scaling else 'EventBridge'} schedule, {forms}")
    kind, body = match.groups()
    if kind == "rate":
        _check_rate(body)
    elif kind == "at":
        _check_at(body)
    else:
        _check_cron(body)
    return expression


def _check_rate(body: str) -> None:
    match = re.fullmatch(r"(\d+) ([a-z]+)", body)
    if not match or match.group(2).removesuffix("s") not in RATE_UNITS:
        raise ScheduleError("allowed: rate(<positive whole number> <minute|minutes|hour|hours|day|days>)")
    value, unit = int(match.group(1)), match.group(2)
    if value < 1:
        raise ScheduleError("allowed: a rate value of at least 1")
    singular = unit.removesuffix("s")
    if value == 1 and unit != singular:
        raise ScheduleError(f"allowed: rate(1 {singular}): the unit is singular for 1")
    if value > 1 and unit == singular:
        raise ScheduleError(f"allowed: rate({value} {singular}s): the unit is plural above 1")


def _check_at(body: str) -> None:
    try:
        datetime.strptime(body, "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        raise ScheduleError("allowed: at(yyyy-mm-ddThh:mm:ss), a real date and time in UTC") from None


def _check_cron(body: str) -> None:
    parts = body.split()
    if len(parts) != len(CRON_FIELDS) or " ".join(parts) != body:
        raise ScheduleError(
            f"allowed: cron(<minutes> <hours> <day-of-month> <month> <day-of-week> <year>), six fields separated by one space, "
            f"got {len(parts)}; e.g. {CRON_EXAMPLE}"
        )
    for field, text in zip(CRON_FIELDS, parts, strict=True):
        _check_cron_field(field, text)
    day_of_month, day_of_week = parts[2], parts[4]
    if (day_of_month == "?") == (day_of_week == "?"):
        raise ScheduleError(
            "allowed: '?' in exactly one of day-of-month and day-of-week (EventBridge: if you specify a value or a * in one of "
            f"the fields, you must use a ? in the other); e.g. {CRON_EXAMPLE}"
        )


def _check_cron_field(field: CronField, text: str) -> None:
    def fail(detail: str) -> ScheduleError:
        return ScheduleError(f"{field.name} {text!r}: {detail}")

    if text == "?":
        if "?" not in field.extra:
            raise fail("'?' is allowed in day-of-month and day-of-week only")
        return
    for item in text.split(","):
        if field.name == "day-of-month" and re.fullmatch(r"L|LW|\d{1,2}W", item):
            _check_range(field, [item.rstrip("W") or "1"] if item not in ("L", "LW") else [], fail)
            continue
        if field.name == "day-of-week" and re.fullmatch(r"\w{1,3}(L|#[1-5])|L", item):
            _check_range(field, [re.split(r"L|#", item)[0]] if item != "L" else [], fail)
            continue
        base, slash, step = item.partition("/")
        if slash and not (step.isdigit() and int(step) >= 1):
            raise fail(f"the step after '/' must be a whole number of at least 1, got {step!r}")
        if base == "*":
            continue
        bounds = base.split("-")
        if len(bounds) > 2:
            raise fail(f"{item!r} is not a value, a range a-b, * or a list of them")
        _check_range(field, bounds, fail)


def _check_range(field: CronField, bounds: list[str], fail: Callable[[str], ScheduleError]) -> None:
    values = []
    for bound in bounds:
        value = field.value(bound)
        names = f" or {field.names[0]}-{field.names[-1]}" if field.names else ""
        if value is None or not field.low <= value <= field.high:
            raise fail(f"allowed values are {field.low}-{field.high}{names}")
        values.append(value)
    if len(values) == 2 and values[0] > values[1] and field.name != "day-of-week":
        raise fail(f"a range runs from low to high, got {bounds[0]}-{bounds[1]}")
