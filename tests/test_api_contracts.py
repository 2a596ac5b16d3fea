"""Every API request our state machines send is one the service accepts.

Each state machine is run, as Step Functions would run it, through representative and worst-case
scenarios: execution names Step Functions allows (the longest, ones with characters a SageMaker
name cannot hold, ones whose cut lands on a '-'), the longest dataset and input-set folders the
Check states accept, missing channels, failed quality gates, a failure at every Task. Each request
a run sends is checked against botocore's model of the operation and the cross-member rules of
``ml_constructs.aws_facts.requests``; every Retry and Catch error name must be one Step Functions
can report for that integration. Results the runs receive are simulated, and themselves checked
against botocore's output shapes so the scenarios stay realistic.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from ml_constructs.aws_facts import model_monitor
from ml_constructs.aws_facts import requests as facts
from ml_constructs.training_pipeline import DATA_CHANNELS, REQUIRED_CHANNELS
from stacks.data_stack import BATCH_INPUT_PREFIX, TRAINING_PREFIX
from tests.conftest import ENVIRONMENTS, SynthesizedEnvironment
from tests.support import botocore_contracts as bc

REPRESENTATIVE_NAME = "0f8fad5b-d9cb-469f-a165-70867728950e"
"""What Step Functions names an execution started without a name (EventBridge, the console)."""
REPRESENTATIVE_FOLDER = "2026-11-01"
MARKER = "_SUCCESS"
TIMESTAMP = "2026-11-01T02:10:00Z"
LONGEST_EXECUTION_NAME = bc.service_model("stepfunctions").operation_model("StartExecution").input_shape.members["name"].metadata["max"]
LONGEST_TASK_ERROR = bc.service_model("stepfunctions").shape_for("SensitiveError").metadata["max"]
LONGEST_TASK_CAUSE = bc.service_model("stepfunctions").shape_for("SensitiveCause").metadata["max"]


# --- Scenarios -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One execution: how it starts and what the services answer."""

    name: str
    execution_name: str = REPRESENTATIVE_NAME
    folder: str = REPRESENTATIVE_FOLDER
    """The dataset or input-set folder under the pipeline's prefix."""
    via_marker: bool = False
    """Started by the S3 trigger ({"marker_key": ".../_SUCCESS"}) rather than by hand."""
    raw_input: Any = None
    """The execution input as given, instead of one built from ``folder``."""
    channels: tuple[str, ...] = DATA_CHANNELS
    metrics: str = "pass"
    """``pass``, ``fail`` (the quality gate) or ``none`` (the job reported no metrics)."""
    files: tuple[str, ...] | str = ("part-00000.csv", "part-00001.csv", ".hidden", "empty.csv")
    """Input-set files, or ``largest``: as many as one listing holds, keys as long as Step Functions can carry."""
    first_row: str = "model width"
    """``model width``, ``wrong width`` or ``longer than the range read``."""
    log_line: str = "found"
    """What the training log search finds: ``found``, ``none`` or ``largest``."""
    fail_at: tuple[str, ...] = ()
    """Task states that fail, in this run, with ``error``."""
    error: tuple[str, str] = ("States.TaskFailed", "The job failed.")

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Profile:
    """What a pipeline's execution input looks like."""

    input_key: str
    prefix: str
    children: tuple[str, ...]
    """What a folder must hold for the run to go on (data channels or files), for the S3 key bound."""


TRAINING = Profile("dataset", TRAINING_PREFIX, tuple(f"{c}/x" for c in REQUIRED_CHANNELS))
TRANSFORM = Profile("input", BATCH_INPUT_PREFIX, ("x",))


def profile_of(machine: bc.Machine) -> Profile:
    operations = {bc.integration_of(state["Resource"]).operation for _, state in machine.tasks()}
    if "CreateTrainingJob" in operations:
        return TRAINING
    if "CreateTransformJob" in operations:
        return TRANSFORM
    raise AssertionError(f"{machine}: no scenario profile for a state machine calling {sorted(operations)}")


def execution_input(profile: Profile, case: Case) -> Any:
    if case.raw_input is not None:
        return case.raw_input
    folder = f"{profile.prefix}{case.folder}/"
    return {"marker_key": folder + MARKER} if case.via_marker else {profile.input_key: folder}


def cut_on_hyphen(offset: int) -> str:
    """An execution name of the longest length with a '-' at every other character: offset 1 puts
    the '-' where a cut of even length ends, offset 0 where a cut of odd length ends."""
    return ("-x" * LONGEST_EXECUTION_NAME)[offset : offset + LONGEST_EXECUTION_NAME]


EXECUTION_NAMES = {
    "representative execution name (a UUID)": REPRESENTATIVE_NAME,
    f"longest execution name ({LONGEST_EXECUTION_NAME} characters)": ("Retrain2026110102" * 10)[:LONGEST_EXECUTION_NAME],
    "execution name with '_' and '.'": "nightly_retrain.2026-11-01_v2.1",
    "execution name ending in '_'": "manual_retrain_",
    "execution name ending in '-'": "manual-retrain-",
    "execution name of replaced characters only": "__..__",
    "cut lands on a '-' (a cut of even length)": cut_on_hyphen(1),
    "cut lands on a '-' (a cut of odd length)": cut_on_hyphen(0),
    "non-ASCII execution name": "modèle-été-2026-🚀",
    "execution name with punctuation Step Functions allows": "re-run(2)_v1.2+hotfix=ok@eu!'",
}


def folder_name(length: int) -> str:
    """A folder name of ``length`` characters using every character the Check states accept."""
    return ("v1.2_run-7=ok" * (length // 13 + 1))[: length - 1] + "z" if length > 1 else "z"


def upstream_failure(machine: bc.Machine, handler: str) -> str:
    """A Task on the normal path whose failure leads to ``handler``."""
    handlers = machine.failure_handlers

    def successors(name: str) -> list[str]:
        state = machine.states[name]
        following = [state.get("Next"), state.get("Default"), *(c["Next"] for c in state.get("Catch", []))]
        return [n for n in [*following, *(rule["Next"] for rule in state.get("Choices", []))] if n]

    for name, definition in machine.tasks():
        if name in handlers:
            continue
        seen, frontier = set(), [catcher["Next"] for catcher in definition.get("Catch", [])]
        while frontier:
            current = frontier.pop()
            if current == handler:
                return name
            if current not in seen:
                seen.add(current)
                frontier += successors(current)
    raise AssertionError(f"{machine}: no Task's failure leads to {handler}")


def cases_for(machine: bc.Machine, longest: Mapping[str, int]) -> list[Case]:
    profile = profile_of(machine)
    cases = [Case(name, execution_name=execution_name) for name, execution_name in EXECUTION_NAMES.items()]
    cases += [
        Case("started by the S3 trigger (marker_key)", via_marker=True),
        Case("shortest folder name", folder="z"),
        Case(
            f"longest folder the Check accepts that holds its data ({longest['children']} characters)",
            folder=folder_name(longest["children"]),
        ),
        Case(
            f"longest folder the Check accepts under a {MARKER} marker ({longest['marker']} characters)",
            folder=folder_name(longest["marker"]),
            via_marker=True,
        ),
        Case("input without the expected key", raw_input={"data": f"{profile.prefix}{REPRESENTATIVE_FOLDER}/"}),
        Case("folder outside the prefix", raw_input={profile.input_key: f"elsewhere/{REPRESENTATIVE_FOLDER}/"}),
        Case(
            "longest execution name and longest folder",
            execution_name=EXECUTION_NAMES[f"longest execution name ({LONGEST_EXECUTION_NAME} characters)"],
            folder=folder_name(longest["children"]),
        ),
    ]
    if profile is TRAINING:
        cases += [
            Case("only the required channels", channels=REQUIRED_CHANNELS),
            Case("a required channel is missing", channels=REQUIRED_CHANNELS[:1]),
            Case("quality gate not met", metrics="fail"),
            Case("no metrics reported", metrics="none"),
        ]
    else:
        cases += [
            Case("no data files", files=(".hidden", "empty.csv")),
            Case("more files than one listing holds", files=tuple(f"part-{i:05d}.csv" for i in range(1001))),
            Case("a first page of hidden files only", files=(*(f".tmp-{i:05d}" for i in range(1000)), "part-00000.csv")),
            Case("largest listing Step Functions can carry", files="largest"),
            Case("first row of the wrong width", first_row="wrong width"),
            Case("first row longer than the range read", first_row="longer than the range read"),
        ]
    longest_error = ("SageMaker." + "E" * LONGEST_TASK_ERROR)[:LONGEST_TASK_ERROR]
    longest_cause = (json.dumps({"FailureReason": 'AlgorithmError: "bad row"\n\tat line 7 — ünïcode'}) * LONGEST_TASK_CAUSE)[
        :LONGEST_TASK_CAUSE
    ]
    handlers = machine.failure_handlers
    for state, definition in machine.tasks():
        if not definition.get("Catch"):
            continue
        # A state that only runs once something failed needs that failure first.
        first = () if state not in handlers else (upstream_failure(machine, state),)
        label = f"{first[0]} fails, then {state} fails" if first else f"{state} fails"
        cases.append(Case(f"{label} (longest error and cause)", fail_at=(*first, state), error=(longest_error, longest_cause)))
    if "ExplainTrainingFailure" in machine.states:
        cases += [
            Case(
                "training fails, the log has no script message", fail_at=("Train",), log_line="none", error=(longest_error, longest_cause)
            ),
            Case("training fails, the largest log line Step Functions can carry", fail_at=("Train",), log_line="largest"),
        ]
    return cases


# --- Simulated results ---------------------------------------------------------------------------------


@dataclass
class World:
    """What the services answer, from each run's case and the request it sent."""

    environments: Mapping[str, SynthesizedEnvironment]
    contracts: Mapping[str, bc.Environment]
    result_problems: list[tuple[bc.Run, str, bc.Finding]]

    def respond(self, run: bc.Run, state: str, integration: bc.Integration, request: Any) -> bc.Succeeded | bc.Failed:
        case: Case = run.case
        if state in case.fail_at:
            return bc.Failed(*case.error)
        build = RESULTS.get((integration.service, integration.operation))
        if build is None:
            raise AssertionError(f"{run.machine} {state}: no simulated result for {integration}; add one to RESULTS in {__name__}")
        result = build(self, run, request)
        output_shape = integration.result_operation.output_shape
        # A result repeats members of its request: only a valid request makes a result to judge.
        if output_shape is not None and not bc.validate_request(integration, request):
            for finding in bc.validate_shape(output_shape, result, pascal_case=integration.pascal_case_members):
                self.result_problems.append((run, state, finding))
        return bc.Succeeded(result)

    def arn(self, run: bc.Run, service: str, resource: str) -> str:
        environment = self.contracts[run.machine.environment]
        return f"arn:aws:{service}:{environment.region}:{environment.account}:{resource}"

    def config(self, run: bc.Run) -> Any:
        return self.environments[run.machine.environment].config


def _list_objects(world: World, run: bc.Run, request: Mapping[str, Any]) -> dict[str, Any]:
    case: Case = run.case
    prefix = request.get("Prefix", "")
    fits = lambda key: len(key.encode()) <= facts.S3_KEY_MAX_BYTES  # noqa: E731
    listing: dict[str, Any] = {"Name": request["Bucket"], "Prefix": prefix, "MaxKeys": request.get("MaxKeys", 1000), "IsTruncated": False}
    marker = {
        "Key": prefix + MARKER,
        "Size": 0,
        "LastModified": TIMESTAMP,
        "ETag": '"d41d8cd98f00b204e9800998ecf8427e"',
        "StorageClass": "STANDARD",
    }
    if request.get("Delimiter") == "/":
        # The training dataset: its channel folders, and the marker beside them.
        listing["Delimiter"] = "/"
        listing["CommonPrefixes"] = [{"Prefix": f"{prefix}{c}/"} for c in case.channels if fits(f"{prefix}{c}/x")]
        listing["Contents"] = [marker] if fits(marker["Key"]) else []
        listing["KeyCount"] = len(listing["CommonPrefixes"]) + len(listing["Contents"])
        return listing
    names = _largest_listing(listing, prefix) if case.files == "largest" else list(case.files)
    objects = sorted(
        [
            {
                **marker,
                "Key": prefix + name,
                "Size": 0 if name.startswith("empty") else 52_428_800,
                "ETag": '"9b2cf535f27731c974343645a3985328"',
            }
            for name in names
        ]
        + ([marker] if fits(marker["Key"]) else []),
        key=lambda item: item["Key"],
    )
    # A continuation token names where the next page starts, as S3's opaque tokens do.
    start = int(request["ContinuationToken"].rsplit("=", 1)[1]) if "ContinuationToken" in request else 0
    if "ContinuationToken" in request:
        listing["ContinuationToken"] = request["ContinuationToken"]
    end = start + listing["MaxKeys"]
    listing["Contents"] = objects[start:end]
    listing["KeyCount"] = len(listing["Contents"])
    if len(objects) > end:
        listing["IsTruncated"] = True
        listing["NextContinuationToken"] = f"1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM={end}"
    return listing


def _largest_listing(listing: Mapping[str, Any], prefix: str) -> list[str]:
    """File names for a full listing (the marker and MaxKeys - 1 files) as large as Step Functions
    accepts as a task result: longer keys fail the listing state with States.DataLimitExceeded."""
    count = listing["MaxKeys"] - 1
    entry = {
        "Key": "",
        "Size": 52_428_800,
        "LastModified": TIMESTAMP,
        "ETag": '"9b2cf535f27731c974343645a3985328"',
        "StorageClass": "STANDARD",
    }
    overhead = bc.utf8_size({**listing, "Contents": [entry] * (count + 1), "KeyCount": count + 1}) + (count + 1) * len(prefix)
    room = (facts.PAYLOAD_LIMIT_BYTES - 1024 - overhead) // count
    length = max(15, min(room, facts.S3_KEY_MAX_BYTES - len(prefix)))
    return [f"part-{i:05d}-" + "x" * (length - 15) + ".csv" for i in range(count)]


def _get_object(world: World, run: bc.Run, request: Mapping[str, Any]) -> dict[str, Any]:
    case: Case = run.case
    first, _, last = request.get("Range", "bytes=0-1048575").removeprefix("bytes=").partition("-")
    size = int(last) - int(first) + 1
    width = _row_width(world.config(run))
    if case.first_row == "longer than the range read" or width is None:
        body = ("0.123456789," * (size // 12 + 1))[:size]
    else:
        columns = width if case.first_row == "model width" else width + 3
        row = ",".join(["0.5"] * columns)
        body = (row + "\r\n") * 3
    return {
        "Body": body,
        "ContentLength": len(body.encode()),
        "ContentRange": f"bytes 0-{len(body.encode()) - 1}/52428800",
        "ContentType": "text/csv",
        "AcceptRanges": "bytes",
        "ETag": '"9b2cf535f27731c974343645a3985328"',
        "LastModified": TIMESTAMP,
        "ServerSideEncryption": "aws:kms",
    }


def _row_width(config: Any) -> int | None:
    """Columns of an input row the transform pipeline accepts (features, and the label when inputs carry it)."""
    try:
        return int(config.inference.model.features) + (1 if config.batch.input_has_label else 0)
    except (AttributeError, TypeError):
        return None


def _put_object(world: World, run: bc.Run, request: Mapping[str, Any]) -> dict[str, Any]:
    result = {"ETag": '"0d6b1e2a7c3f4b5d8e9f0a1b2c3d4e5f"'}
    for member in ("ServerSideEncryption", "SSEKMSKeyId"):
        if member in request:
            result[member] = request[member]
    return result


def _metric_value(config: Any, passing: bool) -> float:
    """A value with many digits on the passing (or failing) side of the configured quality gate."""
    gate = getattr(getattr(config, "training", None), "quality_gate", None)
    threshold = float(getattr(gate, "threshold", 0.5))
    higher = bool(getattr(gate, "higher_is_better", True))
    if higher == passing:
        return threshold + (1 - threshold) * 0.5123456789012345 if threshold < 1 else threshold * 1.5123456789012345
    return threshold * 0.4876543210987654


def _describe_job(request: Mapping[str, Any], operation: str, outcome: Mapping[str, Any]) -> dict[str, Any]:
    """A Describe*Job response: the request's members the response repeats, and the job's outcome."""
    output = bc.service_model("sagemaker").operation_model(operation).output_shape
    return {**{key: value for key, value in request.items() if key in output.members}, **outcome}


def _training_job(world: World, run: bc.Run, request: Mapping[str, Any]) -> dict[str, Any]:
    case: Case = run.case
    name = request["TrainingJobName"]
    output_path = request["OutputDataConfig"]["S3OutputPath"].rstrip("/")
    definitions = request.get("AlgorithmSpecification", {}).get("MetricDefinitions", [])
    value = _metric_value(world.config(run), passing=case.metrics == "pass")
    metrics = [] if case.metrics == "none" else [{"MetricName": d["Name"], "Value": value, "Timestamp": TIMESTAMP} for d in definitions]
    return _describe_job(
        request,
        "DescribeTrainingJob",
        {
            "TrainingJobArn": world.arn(run, "sagemaker", f"training-job/{name.lower()}"),
            "ModelArtifacts": {"S3ModelArtifacts": f"{output_path}/{name}/output/model.tar.gz"},
            "TrainingJobStatus": "Completed",
            "SecondaryStatus": "Completed",
            "CreationTime": TIMESTAMP,
            "TrainingStartTime": TIMESTAMP,
            "TrainingEndTime": TIMESTAMP,
            "LastModifiedTime": TIMESTAMP,
            "FinalMetricDataList": metrics,
            "TrainingTimeInSeconds": 612,
            "BillableTimeInSeconds": 204,
        },
    )


def _transform_job(world: World, run: bc.Run, request: Mapping[str, Any]) -> dict[str, Any]:
    name = request["TransformJobName"]
    return _describe_job(
        request,
        "DescribeTransformJob",
        {
            "TransformJobArn": world.arn(run, "sagemaker", f"transform-job/{name.lower()}"),
            "TransformJobStatus": "Completed",
            "CreationTime": TIMESTAMP,
            "TransformStartTime": TIMESTAMP,
            "TransformEndTime": TIMESTAMP,
        },
    )


def _processing_job(world: World, run: bc.Run, request: Mapping[str, Any]) -> dict[str, Any]:
    name = request["ProcessingJobName"]
    return _describe_job(
        request,
        "DescribeProcessingJob",
        {
            "ProcessingJobArn": world.arn(run, "sagemaker", f"processing-job/{name.lower()}"),
            "ProcessingJobStatus": "Completed",
            "CreationTime": TIMESTAMP,
            "ProcessingStartTime": TIMESTAMP,
            "ProcessingEndTime": TIMESTAMP,
            "LastModifiedTime": TIMESTAMP,
            "ExitMessage": "Completed: Job completed successfully with no violations.",
        },
    )


def _model(world: World, run: bc.Run, request: Mapping[str, Any]) -> dict[str, Any]:
    return {"ModelArn": world.arn(run, "sagemaker", f"model/{request['ModelName'].lower()}")}


def _model_package(world: World, run: bc.Run, request: Mapping[str, Any]) -> dict[str, Any]:
    group = request.get("ModelPackageGroupName", request.get("ModelPackageName", "package")).rsplit("/", 1)[-1]
    return {"ModelPackageArn": world.arn(run, "sagemaker", f"model-package/{group.lower()}/17")}


def _publish(world: World, run: bc.Run, request: Mapping[str, Any]) -> dict[str, Any]:
    return {"MessageId": "95df01b4-ee98-5cb9-9903-4c221d41eb5e"}


def _filter_log_events(world: World, run: bc.Run, request: Mapping[str, Any]) -> dict[str, Any]:
    case: Case = run.case
    if case.log_line == "none":
        return {"Events": [], "SearchedLogStreams": []}
    pattern = request.get("FilterPattern", "")
    try:
        line = json.loads(pattern) if pattern.startswith('"') else pattern
    except json.JSONDecodeError:
        line = pattern
    stream = request.get("LogStreamNamePrefix", "job/") + "algo-1-1730426400"
    event = {
        "LogStreamName": stream,
        "Timestamp": 1_730_426_400_000,
        "Message": "",
        "IngestionTime": 1_730_426_401_000,
        "EventId": "3" * 56,
    }
    result = {"Events": [event], "SearchedLogStreams": [{"LogStreamName": stream, "SearchedCompletely": True}]}
    message = f'{line} could not convert string to float: "n/a" in train/part-00000.csv, row 7'
    if case.log_line == "largest":
        # A traceback-like line as long as a task result can carry: quotes and non-ASCII text
        # grow when the message is escaped into JSON, once for SNS and again in the request.
        filler = ' ValueError: "n/a" is not a number — ligne 7;'
        room = facts.PAYLOAD_LIMIT_BYTES - 512 - bc.utf8_size(result)
        unit = bc.utf8_size(filler) - 2
        message = message + filler * ((room - bc.utf8_size(message)) // unit)
    event["Message"] = message
    return result


RESULTS: dict[tuple[str, str], Callable[[World, bc.Run, Mapping[str, Any]], dict[str, Any]]] = {
    ("s3", "ListObjectsV2"): _list_objects,
    ("s3", "GetObject"): _get_object,
    ("s3", "PutObject"): _put_object,
    ("sagemaker", "CreateTrainingJob"): _training_job,
    ("sagemaker", "CreateTransformJob"): _transform_job,
    ("sagemaker", "CreateProcessingJob"): _processing_job,
    ("sagemaker", "CreateModel"): _model,
    ("sagemaker", "CreateModelPackage"): _model_package,
    ("sns", "Publish"): _publish,
    ("logs", "FilterLogEvents"): _filter_log_events,
}


# --- Running the scenarios ------------------------------------------------------------------------------


def _spread(low: int, high: int, count: int) -> list[int]:
    if high - low < count:
        return list(range(low, high + 1))
    return sorted({low + (high - low) * i // (count - 1) for i in range(count)})


def longest_accepted_folders(machines: list[bc.Machine]) -> dict[str, dict[str, int]]:
    """For each state machine, the longest folder the Check states accept within S3's key limit:
    one that still holds its data (``children``), and one that holds the trigger's marker."""
    targets: dict[tuple[str, str], tuple[bc.Machine, int]] = {}
    for machine in machines:
        profile = profile_of(machine)
        room = facts.S3_KEY_MAX_BYTES - len(profile.prefix) - 1
        targets[(str(machine), "children")] = (machine, room - max(len(child) for child in profile.children))
        targets[(str(machine), "marker")] = (machine, room - len(MARKER))
    # low: the longest length accepted so far (0: none); high: the longest that may still be.
    low = dict.fromkeys(targets, 0)
    high = {key: bound for key, (_, bound) in targets.items()}
    first = True
    while any(high[key] > low[key] for key in targets):
        probes = []
        for key, (machine, _) in targets.items():
            if high[key] > low[key]:
                # The S3 bound alone first: a Check without a length limit accepts it in one round.
                for length in [high[key]] if first else _spread(low[key] + 1, high[key], 24):
                    case = Case(f"probe {length}", folder=folder_name(length))
                    probes.append(
                        (
                            key,
                            length,
                            bc.Run(machine, case, REPRESENTATIVE_NAME, execution_input(profile_of(machine), case), stop_at_first_task=True),
                        )
                    )
        bc.simulate([run for _, _, run in probes], lambda *_: bc.Failed("States.Runtime", "probe"))
        first = False
        for key in {key for key, _, _ in probes}:
            outcomes = {
                length: run.outcome == "at task" and run.path[-1] not in run.machine.failure_handlers
                for k, length, run in probes
                if k == key
            }
            low[key] = max([low[key], *(length for length, accepted in outcomes.items() if accepted)])
            rejected = [length for length, accepted in outcomes.items() if not accepted and length > low[key]]
            high[key] = min(rejected) - 1 if rejected else low[key]
    longest: dict[str, dict[str, int]] = defaultdict(dict)
    for (machine, kind), length in low.items():
        longest[machine][kind] = length
    return longest


@dataclass
class Simulation:
    machines: list[bc.Machine]
    runs: list[bc.Run]
    result_problems: list[tuple[bc.Run, str, bc.Finding]]

    def machines_of(self, environment: str) -> list[bc.Machine]:
        return [m for m in self.machines if m.environment == environment]

    def runs_of(self, machine: bc.Machine) -> list[bc.Run]:
        return [run for run in self.runs if run.machine is machine]


def contract_environment(environment: SynthesizedEnvironment) -> bc.Environment:
    return bc.Environment(
        environment.config.name,
        environment.config.account,
        environment.config.region,
        {name: stack.template for name, stack in environment.stacks.items()},
    )


@pytest.fixture(scope="module")
def simulation(synthesized: dict[str, SynthesizedEnvironment]) -> Simulation:
    contracts = {name: contract_environment(environment) for name, environment in synthesized.items()}
    machines = [machine for environment in contracts.values() for machine in bc.state_machines(environment)]
    longest = longest_accepted_folders(machines)
    world = World(synthesized, contracts, [])
    runs = [
        bc.Run(machine, case, case.execution_name, execution_input(profile_of(machine), case))
        for machine in machines
        for case in cases_for(machine, longest[str(machine)])
    ]
    bc.simulate(runs, world.respond)
    return Simulation(machines, runs, world.result_problems)


def _report(findings: list[tuple[Case, bc.Finding]]) -> str:
    """One line per distinct problem, with the first value seen and every case that hit it."""
    grouped: dict[tuple[str, str], list[tuple[Case, bc.Finding]]] = defaultdict(list)
    for case, finding in findings:
        # The same rule broken by values of different lengths is one problem.
        grouped[(finding.path, re.sub(r"\d+", "#", finding.problem))].append((case, finding))
    lines = []
    for (path, _), hits in grouped.items():
        case, first = hits[0]
        problem = first.problem
        others = sorted({str(c) for c, _ in hits[1:]} - {str(case)})
        also = f"; also in {len(others)} more: {', '.join(others)}" if others else ""
        lines.append(
            f"  - {path} = {bc.shorten(first.value)}\n      {problem}\n      case: {case} (execution name {case.execution_name!r}){also}"
        )
    return "\n".join(lines)


# --- Tests ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_request_is_one_the_service_accepts(simulation: Simulation, environment: str, subtests: pytest.Subtests) -> None:
    machines = simulation.machines_of(environment)
    assert machines, f"{environment}: no state machines to check"
    for machine in machines:
        runs = simulation.runs_of(machine)
        for state, definition in machine.tasks():
            with subtests.test(msg=f"{machine.stack} {state}"):
                integration = bc.integration_of(definition["Resource"])
                findings = [
                    (run.case, finding)
                    for run in runs
                    for call in run.calls
                    if call.state == state
                    for finding in bc.validate_request(integration, call.request)
                ]
                findings += [(run.case, problem.finding) for run in runs for problem in run.problems if problem.state == state]
                if findings:
                    pytest.fail(f"{environment}/{machine.stack} state {state} sends {integration}:\n{_report(findings)}", pytrace=False)


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_runs_hit_no_dead_end_outside_task_states(simulation: Simulation, environment: str, subtests: pytest.Subtests) -> None:
    """JSONata errors, oversized outputs and unmatched Choices in Pass, Choice and Fail states."""
    for machine in simulation.machines_of(environment):
        tasks = {state for state, _ in machine.tasks()}
        for state in machine.states:
            if state in tasks:
                continue
            with subtests.test(msg=f"{machine.stack} {state}"):
                findings = [(run.case, p.finding) for run in simulation.runs_of(machine) for p in run.problems if p.state == state]
                if findings:
                    pytest.fail(f"{environment}/{machine.stack} state {state}:\n{_report(findings)}", pytrace=False)


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_task_state_is_exercised(simulation: Simulation, environment: str) -> None:
    """A state no scenario reaches is a state whose requests nobody checked."""
    for machine in simulation.machines_of(environment):
        reached = {call.state for run in simulation.runs_of(machine) for call in run.calls}
        missed = [state for state, _ in machine.tasks() if state not in reached]
        assert not missed, f"{machine}: no scenario reaches {missed}; add a Case (or a simulated result) that leads there"


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_retry_and_catch_name_errors_the_integration_reports(
    synthesized: dict[str, SynthesizedEnvironment], environment: str, subtests: pytest.Subtests
) -> None:
    for machine in bc.state_machines(contract_environment(synthesized[environment])):
        for state, definition in machine.tasks():
            with subtests.test(msg=f"{machine.stack} {state}"):
                integration = bc.integration_of(definition["Resource"])
                handlers = [("Retry", i, h) for i, h in enumerate(definition.get("Retry", []))] + [
                    ("Catch", i, h) for i, h in enumerate(definition.get("Catch", []))
                ]
                problems = [
                    f"  - {field}[{index}] {name}: {problem}"
                    for field, index, handler in handlers
                    for name in handler["ErrorEquals"]
                    if (problem := bc.error_name_problem(integration, name))
                ]
                allowed = ", ".join(sorted(bc.allowed_error_names(integration)))
                if problems:
                    pytest.fail(
                        f"{environment}/{machine.stack} state {state} ({integration}) waits for errors it never reports:\n"
                        + "\n".join(problems)
                        + f"\n  It can report States.* and: {allowed}",
                        pytrace=False,
                    )


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_simulated_results_are_what_the_services_return(simulation: Simulation, environment: str) -> None:
    """The scenarios answer with members and values botocore's output shapes allow."""
    problems = [
        f"  - {run.machine.stack} {state} ({run.case}): {f.describe()}"
        for run, state, f in simulation.result_problems
        if run.machine.environment == environment
    ]
    if problems:
        pytest.fail("simulated results botocore would not parse:\n" + "\n".join(dict.fromkeys(problems)), pytrace=False)


def test_scenario_execution_names_are_ones_step_functions_accepts() -> None:
    for name in EXECUTION_NAMES.values():
        assert 1 <= len(name) <= LONGEST_EXECUTION_NAME, name
        assert not set(name) & facts.EXECUTION_NAME_FORBIDDEN_CHARACTERS, name
        assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in name), name


# --- The facts and their sources --------------------------------------------------------------------------


def _botocore_sources() -> Iterator[facts.BotocoreDocumentation]:
    for rule in facts.REQUEST_RULES:
        if isinstance(rule.source, facts.BotocoreDocumentation):
            yield rule.source
    yield facts.EXECUTION_NAME_FORBIDDEN
    yield model_monitor.SCHEDULE_EXPRESSIONS
    yield model_monitor.RUNTIME_WITHIN_CADENCE


@pytest.mark.parametrize("source", list(_botocore_sources()), ids=lambda s: f"{s.service}.{s.shape}.{s.member}")
def test_facts_quoting_botocore_still_match_its_documentation(source: facts.BotocoreDocumentation) -> None:
    assert source.sentence in bc.documentation_of(source), (
        f"botocore's documentation of {source.service} {source.shape}.{source.member} no longer says {source.sentence!r}: "
        "re-read it and update the rule in ml_constructs/aws_facts/requests.py"
    )


@pytest.mark.parametrize("rule", facts.REQUEST_RULES, ids=lambda r: f"{type(r).__name__}-{r.operation}")
def test_request_rules_name_real_members(rule: facts.RequestRule) -> None:
    shape: Any = bc.service_model(rule.service).operation_model(rule.operation).input_shape
    paths = getattr(rule, "members", ()) + tuple(getattr(rule, attribute) for attribute in ("member", "other") if hasattr(rule, attribute))
    for path in paths:
        current = shape
        for part in path.split("."):
            assert part in current.members, f"{rule.service} {rule.operation}: {path} is not a member path"
            current = current.members[part]


def test_error_name_facts_name_real_services() -> None:
    for name, service in facts.AWS_SDK_SERVICES.items():
        assert service.botocore in bc._SESSION.get_available_services(), name
    for name in facts.OPTIMIZED_ERRORS:
        assert name in bc._SESSION.get_available_services(), name


# --- The checker itself -----------------------------------------------------------------------------------


def _training_job_request(**changes: Any) -> dict[str, Any]:
    request = {
        "TrainingJobName": "mlops-dev-0f8fad5b",
        "RoleArn": "arn:aws:iam::111111111111:role/training",
        "AlgorithmSpecification": {
            "TrainingImage": "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:3.2-0",
            "TrainingInputMode": "File",
        },
        "OutputDataConfig": {"S3OutputPath": "s3://bucket/training-jobs/"},
        "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "Tags": [{"Key": "dataset", "Value": "training/2026-11-01/"}],
    }
    request.update(changes)
    return request


TRAIN = bc.integration_of("arn:aws:states:::sagemaker:createTrainingJob.sync")


def test_a_valid_request_has_no_findings() -> None:
    assert bc.validate_request(TRAIN, _training_job_request()) == []


@pytest.mark.parametrize(
    ("changes", "path", "words"),
    [
        ({"TrainingJobName": "mlops-dev-manual-retrain-"}, "TrainingJobName", "pattern"),
        ({"TrainingJobName": "mlops-dev-" + "x" * 60}, "TrainingJobName", "max 63"),
        ({"Tags": [{"Key": "dataset", "Value": "x" * 257}]}, "Tags[0].Value", "max 256"),
        ({"Tags": [{"Key": "dataset", "Value": "training/(1)/"}]}, "Tags[0].Value", "pattern"),
        (
            {"AlgorithmSpecification": {"TrainingImage": "i", "TrainingInputMode": "Stream"}},
            "AlgorithmSpecification.TrainingInputMode",
            "not one of",
        ),
        (
            {"ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": -1, "VolumeSizeInGB": 30}},
            "ResourceConfig.InstanceCount",
            "min 0",
        ),
        (
            {"ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": "1", "VolumeSizeInGB": 30}},
            "ResourceConfig.InstanceCount",
            "integer",
        ),
        ({"EnableNetworkIsolation": "true"}, "EnableNetworkIsolation", "boolean"),
        ({"TrainingJobNames": "x"}, "TrainingJobNames", "no member"),
        (
            {"StoppingCondition": {"MaxRuntimeInSeconds": 7200, "MaxWaitTimeInSeconds": 3600}},
            "StoppingCondition.MaxWaitTimeInSeconds",
            "MaxRuntimeInSeconds",
        ),
    ],
)
def test_the_checker_finds_what_sagemaker_rejects(changes: dict[str, Any], path: str, words: str) -> None:
    findings = bc.validate_request(TRAIN, _training_job_request(**changes))
    assert any(f.path == path and words in f.problem for f in findings), findings


def test_the_checker_finds_missing_members_and_oversized_requests() -> None:
    request = _training_job_request()
    del request["RoleArn"]
    assert [f.path for f in bc.validate_request(TRAIN, request)] == ["RoleArn"]
    publish = bc.integration_of("arn:aws:states:::sns:publish")
    findings = bc.validate_request(publish, {"Message": "é" * 200_000, "Subject": "x" * 100})
    assert {f.path for f in findings} == {"TopicArn / TargetArn / PhoneNumber", "Message", "Subject", "(request)"}


def test_the_checker_refuses_tags_on_a_versioned_model_package() -> None:
    register = bc.integration_of("arn:aws:states:::aws-sdk:sagemaker:createModelPackage")
    request = {"ModelPackageGroupName": "mlops-dev", "Tags": [{"Key": "pipeline", "Value": "mlops-dev-training"}]}
    (finding,) = bc.validate_request(register, request)
    assert finding.path == "ModelPackageGroupName and Tags"
    assert "you cannot supply a tag argument" in finding.problem


@pytest.mark.parametrize(
    ("pattern", "accepted", "rejected"),
    [
        ("[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", ["a", "a-b", "a--b"], ["a-", "-a", "a_b", "a" * 64]),
        ("([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)", ["été 2026", "a:b/c=d+e-f@g"], ["a(b)", "a!", "a\tb"]),
        ("[\\u0020-\\uD7FF\\uE000-\\uFFFD\\uD800\\uDC00-\\uDBFF\\uDFFF\\t]*", ["a🚀", "\t"], ["\n"]),
        ("arn:[\\p{Alnum}\\-]+:lambda:.*", ["arn:aws:lambda:x"], ["arn:aws-é:lambda:x", "arn:aws:lambda:a\nb", "arn:aws:lambda:a\u2028b"]),
        ("\\w+\\s\\d", ["a_1 2"], ["é 2", "a\u00a02", "a ٢"]),
        ("([\\p{L}\\p{Z}\\p{N}_.:\\/=+\\-@]*)${1,256}", ["abc", ""], ["a(b"]),
        ("^[0-9]+$", ["12"], ["12\n3", "x"]),
    ],
)
def test_java_patterns_mean_in_python_what_they_mean_to_the_services(pattern: str, accepted: list[str], rejected: list[str]) -> None:
    for value in accepted:
        assert bc.matches_java_pattern(pattern, value), (pattern, value)
    for value in rejected:
        assert not bc.matches_java_pattern(pattern, value), (pattern, value)


@pytest.mark.parametrize("service", ["sagemaker", "s3", "sns", "logs", "stepfunctions"])
def test_every_pattern_of_the_services_we_call_translates(service: str) -> None:
    model = bc.service_model(service)
    for name in model.shape_names:
        pattern = model.shape_for(name).metadata.get("pattern")
        if pattern is not None:
            bc.java_pattern(pattern)


@pytest.mark.parametrize(
    ("resource", "name", "known"),
    [
        ("arn:aws:states:::sagemaker:createTrainingJob.sync", "SageMaker.AmazonSageMakerException", True),
        ("arn:aws:states:::sagemaker:createTrainingJob.sync", "SageMaker.ResourceLimitExceededException", True),
        ("arn:aws:states:::sagemaker:createTrainingJob.sync", "SageMaker.ThrottlingException", False),
        ("arn:aws:states:::sagemaker:createTrainingJob.sync", "SageMaker.ResourceLimitExceeded", False),
        ("arn:aws:states:::aws-sdk:sagemaker:createModelPackage", "SageMaker.SageMakerException", True),
        ("arn:aws:states:::aws-sdk:sagemaker:createModelPackage", "SageMaker.TooManyRequestsException", False),
        ("arn:aws:states:::aws-sdk:s3:listObjectsV2", "S3.S3Exception", True),
        ("arn:aws:states:::aws-sdk:s3:listObjectsV2", "S3.NoSuchBucketException", True),
        ("arn:aws:states:::aws-sdk:s3:listObjectsV2", "S3.NoSuchBucket", False),
        ("arn:aws:states:::aws-sdk:s3:listObjectsV2", "S3.ThrottlingException", False),
        ("arn:aws:states:::aws-sdk:s3:listObjectsV2", "S3.SlowDownException", False),
        ("arn:aws:states:::sns:publish", "SNS.ThrottledException", True),
        ("arn:aws:states:::sns:publish", "Sns.ThrottledException", False),
        ("arn:aws:states:::sns:publish", "SNS.ThrottlingException", False),
        ("arn:aws:states:::sns:publish", "States.ALL", True),
        ("arn:aws:states:::sns:publish", "States.Throttled", False),
    ],
)
def test_the_checker_knows_which_error_names_can_occur(resource: str, name: str, known: bool) -> None:
    assert (bc.error_name_problem(bc.integration_of(resource), name) is None) is known


def test_references_get_realistic_values() -> None:
    template = {
        "Resources": {
            "Key": {"Type": "AWS::KMS::Key"},
            "Role": {"Type": "AWS::IAM::Role", "Properties": {}},
            "Topic": {"Type": "AWS::SNS::Topic"},
        },
        "Outputs": {"KeyArn": {"Value": {"Fn::GetAtt": ["Key", "Arn"]}, "Export": {"Name": "dev-Data:KeyArn"}}},
    }
    environment = bc.Environment(
        "dev", "111111111111", "eu-west-1", {"Data": template, "Training": {"Resources": {"Role": template["Resources"]["Role"]}}}
    )
    text = environment.substitute("Training", "<import:dev-Data:KeyArn> <Role.Arn> <name>")
    key, role, literal = text.split(" ")
    assert key.startswith("arn:aws:kms:eu-west-1:111111111111:key/")
    assert role.startswith("arn:aws:iam::111111111111:role/dev-Training-Role-")
    assert len(role.rsplit("/", 1)[1]) <= 64
    assert literal == "<name>"


def test_cases_hit_the_job_name_cut_on_a_hyphen_wherever_it_falls() -> None:
    for length in range(1, LONGEST_EXECUTION_NAME + 1):
        assert any(cut_on_hyphen(offset)[:length].endswith("-") for offset in (0, 1)), length


def test_the_simulation_catches_a_job_name_that_ends_in_a_hyphen() -> None:
    """The job name as the pipelines built it before names were trimmed: cut, never trimmed."""
    old_job_name = "{% 'mlops-dev-' & $substring($replace($states.context.Execution.Name, /[^A-Za-z0-9-]/, '-'), 0, 53) %}"
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "Name",
        "States": {
            "Name": {"Type": "Pass", "Assign": {"jobName": old_job_name}, "Next": "CreateModel"},
            "CreateModel": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sagemaker:createModel",
                "Arguments": {"ModelName": "{% $jobName %}", "ExecutionRoleArn": "arn:aws:iam::111111111111:role/model"},
                "End": True,
            },
        },
    }
    machine = bc.Machine(
        "dev", "Training", "Machine", definition, "arn:aws:states:eu-west-1:111111111111:stateMachine:m", "arn:aws:iam::111111111111:role/m"
    )
    runs = [bc.Run(machine, Case(name), name_, {}) for name, name_ in EXECUTION_NAMES.items()]
    bc.simulate(runs, lambda *_: bc.Succeeded({"ModelArn": "arn:aws:sagemaker:eu-west-1:111111111111:model/m"}))
    rejected = {
        str(run.case)
        for run in runs
        for call in run.calls
        if any(f.path == "ModelName" and "pattern" in f.problem for f in bc.validate_request(call.integration, call.request))
    }
    assert {"execution name ending in '_'", "execution name ending in '-'", "cut lands on a '-' (a cut of odd length)"} <= rejected
    assert "representative execution name (a UUID)" not in rejected
