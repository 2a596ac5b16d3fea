"""The batch pipeline over a set of 10,000 files: S3's paging as moto gives it, the real JSONata engine.

dev's synthesized transform state machine runs in the suite's simulator
(``tests/support/botocore_contracts.py``: every JSONata field evaluated by the jsonata package,
every state's input and output held to Step Functions' 256 KB) against an S3 bucket in moto that
holds the set: 10,000 data files, 1,200 hidden files that sort before them (a first page with
nothing to transform), markers and empty files. Its S3 calls go to moto as boto3 sends them;
SageMaker and SNS answer as in the contract tests. Every data file must be scored exactly once,
in a manifest of its page, and nothing else.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.s3.models import s3_backends

from ml_constructs.transform_pipeline import PAGE_KEYS
from tests.conftest import SynthesizedEnvironment
from tests.support import botocore_contracts as bc

DATA_FILES = 10_000
HIDDEN_FILES = 1_200
INPUT_SET = "input/large/"


def jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    return value


@pytest.fixture(scope="module")
def machine(dev: SynthesizedEnvironment) -> bc.Machine:
    environment = bc.Environment(dev.config.name, dev.config.account, dev.config.region, {n: s.template for n, s in dev.stacks.items()})
    [batch] = [m for m in bc.state_machines(environment) if m.stack == "BatchTransform"]
    return batch


@pytest.fixture(scope="module")
def s3(machine: bc.Machine, dev: SynthesizedEnvironment) -> Iterator[Any]:
    """The batch bucket with the set, in moto."""
    with mock_aws():
        client = boto3.client("s3", region_name=dev.config.region)
        bucket = machine.states["ListInput"]["Arguments"].split("'Bucket': '", 1)[1].split("'", 1)[0]
        client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": dev.config.region})
        features = dev.config.inference.model.features  # type: ignore[union-attr]
        row = (",".join(["1"] + ["0.5"] * features) + "\n").encode()
        keys = [f"{INPUT_SET}part-{i:05d}.csv" for i in range(DATA_FILES)]
        keys += [f"{INPUT_SET}.tmp-{i:04d}" for i in range(HIDDEN_FILES)]
        # Into moto's store directly (10,000 PutObject calls would take half a minute); the
        # listing, which is what this is about, goes through the S3 API.
        store = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
        for key in keys:
            store.put_object(bucket, key, b"x" if "/.tmp-" in key else row)
        for key in (f"{INPUT_SET}_SUCCESS", f"{INPUT_SET}sub/_SUCCESS", f"{INPUT_SET}empty.csv"):
            client.put_object(Bucket=bucket, Key=key, Body=b"")
        assert client.list_objects_v2(Bucket=bucket, Prefix=INPUT_SET)["IsTruncated"]
        client.bucket = bucket  # type: ignore[attr-defined]
        yield client


@pytest.fixture(scope="module")
def run(machine: bc.Machine, s3: Any) -> bc.Run:
    jobs: list[dict[str, Any]] = []

    def respond(run: bc.Run, state: str, integration: bc.Integration, request: Any) -> bc.Succeeded | bc.Failed:
        key = (integration.service, integration.operation)
        if key == ("s3", "ListObjectsV2"):
            return bc.Succeeded(jsonable(s3.list_objects_v2(**request)))
        if key == ("s3", "GetObject"):
            answer = s3.get_object(**request)
            return bc.Succeeded(jsonable({**answer, "Body": answer["Body"].read().decode()}))
        if key == ("s3", "PutObject"):
            # moto has no KMS key of the stack's: the object is stored without SSE-KMS.
            stored = {k: v for k, v in request.items() if k not in ("ServerSideEncryption", "SSEKMSKeyId")}
            return bc.Succeeded(jsonable(s3.put_object(**stored)))
        if key == ("sagemaker", "CreateTransformJob"):
            jobs.append(request)
            return bc.Succeeded({**request, "TransformJobStatus": "Completed", "CreationTime": "2026-11-01T02:10:00Z"})
        if key == ("sns", "Publish"):
            return bc.Succeeded({"MessageId": "95df01b4-ee98-5cb9-9903-4c221d41eb5e"})
        raise AssertionError(f"{state}: no answer for {integration}")

    execution = bc.Run(machine, "10,000 files", "0f8fad5b-d9cb-469f-a165-70867728950e", {"input": INPUT_SET})
    bc.simulate([execution], respond)
    execution.jobs = jobs  # type: ignore[attr-defined]
    return execution


def manifests(s3: Any) -> dict[str, list[Any]]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=s3.bucket, Prefix="manifests/")
    keys = [item["Key"] for page in pages for item in page.get("Contents", [])]
    return {key: json.loads(s3.get_object(Bucket=s3.bucket, Key=key)["Body"].read()) for key in keys}


def test_the_run_succeeds_within_step_functions_limits(run: bc.Run) -> None:
    assert run.problems == [], run.problems
    assert run.outcome == "succeeded", run.path[-5:]


def test_every_data_file_is_scored_exactly_once_and_nothing_else(run: bc.Run, s3: Any) -> None:
    listed = [name for manifest in manifests(s3).values() for name in manifest[1:]]
    assert len(listed) == len(set(listed)) == DATA_FILES
    assert set(listed) == {f"part-{i:05d}.csv" for i in range(DATA_FILES)}, "no marker, hidden or empty file"
    for manifest in manifests(s3).values():
        assert manifest[0] == {"prefix": f"s3://{s3.bucket}/{INPUT_SET}"}
        assert 0 < len(manifest) - 1 <= PAGE_KEYS


def test_one_transform_job_per_page_with_data_files(run: bc.Run, s3: Any) -> None:
    objects = DATA_FILES + HIDDEN_FILES + 3
    pages = math.ceil(objects / PAGE_KEYS)
    jobs = run.jobs  # type: ignore[attr-defined]
    # The first page is hidden files only: no job for it.
    assert len(jobs) == pages - 1 == len(manifests(s3))
    names = [job["TransformJobName"] for job in jobs]
    assert len(set(names)) == len(names)
    assert names[0].endswith("-2")
    assert {job["TransformOutput"]["S3OutputPath"] for job in jobs} == {f"s3://{s3.bucket}/output/large/"}
    for job in jobs:
        manifest_uri = job["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"]
        assert manifest_uri == f"s3://{s3.bucket}/manifests/{job['TransformJobName']}.manifest"


def test_every_request_is_one_the_services_accept(run: bc.Run) -> None:
    findings = [(call.state, finding) for call in run.calls for finding in bc.validate_request(call.integration, call.request)]
    assert findings == []
    listings = [call.request for call in run.calls if call.state == "ListInput"]
    assert "ContinuationToken" not in listings[0]
    assert all("ContinuationToken" in request for request in listings[1:])


def test_the_width_is_checked_once_on_the_first_page_with_data(run: bc.Run) -> None:
    reads = [call.request for call in run.calls if call.state == "ReadFirstRow"]
    assert [r["Key"] for r in reads] == [f"{INPUT_SET}part-00000.csv"]
