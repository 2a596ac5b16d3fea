"""A local batch transform of one CSV file, done the way SageMaker does it.

SplitType=Line cuts the file into records; BatchStrategy=MultiRecord packs records into
requests of at most MaxPayloadInMB; InputFilter (a JSONPath such as ``$[1:]``) selects the
columns sent to the model; the container answers one prediction per record (in a transform,
one per line: ``tests/support/xgboost_serving.py``, ``batch=True``); JoinSource=Input appends
each prediction to its input record; AssembleWith=Line writes one line per record.

Neither SageMaker nor the container compares a record's width with the model's: a record one
value short of it is scored (the transform's pipeline checks the first row before it starts).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

Invoke = Callable[[bytes], bytes]


def select_columns(record: str, json_path: str) -> str:
    """Apply the CSV forms of InputFilter the configuration allows: $, $[a:b], $[i,j,...]."""
    if json_path == "$":
        return record
    values = record.split(",")
    sliced = re.fullmatch(r"\$\[(\d*):(\d*)\]", json_path)
    if sliced:
        start, end = (int(v) if v else None for v in sliced.groups())
        return ",".join(values[start:end])
    indices = re.fullmatch(r"\$\[(\d+(?:,\d+)*)\]", json_path)
    if indices:
        return ",".join(values[int(i)] for i in indices.group(1).split(","))
    raise ValueError(f"unsupported filter {json_path!r}")


def mini_batches(records: list[str], max_payload_bytes: int) -> Iterator[list[str]]:
    batch: list[str] = []
    size = 0
    for record in records:
        length = len(record) + 1
        if batch and size + length > max_payload_bytes:
            yield batch
            batch, size = [], 0
        batch.append(record)
        size += length
    if batch:
        yield batch


def transform_file(content: str, invoke: Invoke, *, input_filter: str, join_with_input: bool, max_payload_mb: int) -> tuple[str, int]:
    """(the ``.out`` file's content, the number of requests sent)."""
    records = [line for line in content.splitlines() if line.strip()]
    output: list[str] = []
    requests = 0
    for batch in mini_batches(records, max_payload_mb * 1024 * 1024):
        payload = "\n".join(select_columns(record, input_filter) for record in batch).encode()
        answer = invoke(payload).decode()
        requests += 1
        predictions = [v for line in answer.splitlines() for v in line.split(",") if v.strip()]
        if len(predictions) != len(batch):
            raise AssertionError(f"{len(predictions)} predictions for {len(batch)} records")
        output += [f"{record},{p}" if join_with_input else p for record, p in zip(batch, predictions, strict=True)]
    return "\n".join(output) + "\n", requests
