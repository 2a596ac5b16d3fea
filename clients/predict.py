#!/usr/bin/env python3
"""Send CSV rows to an environment's real-time endpoint and print one prediction per row.

    python -m clients.predict --env dev rows.csv          # boto3 (sagemaker-runtime InvokeEndpoint)
    python -m clients.predict --env dev --via sdk - < rows.csv   # SageMaker Python SDK (sagemaker-core)
    python -m clients.predict --endpoint my-endpoint --region eu-west-1 --features 30 rows.csv

Rows are features only (no label column), numeric, comma-separated, as in training; an empty
cell is a missing value. Every row must have exactly as many values as the served model has
features: ``inference.model.features`` of the environment's config with ``--env``, ``--features N``
with ``--endpoint``. The container's default inference would score a shorter row without
complaint (the absent features count as missing: a wrong probability), so such rows are refused
before anything is sent. Exit status: 0 ok, 2 bad input, 3 endpoint not found, 4 no credentials
or access, 5 model error, 1 any other AWS error. Each failure prints one line starting with
``error:``.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import sys
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from clients.errors import EXIT_INPUT, EXIT_REFUSED, ClientError, aws_errors, one_line, run_reporting_errors

MAX_PAYLOAD_BYTES = 5 * 1024 * 1024  # InvokeEndpoint accepts 6 MB; keep a margin
EXIT_MODEL = EXIT_REFUSED


@dataclass(frozen=True)
class Target:
    endpoint_name: str
    region: str
    role_arn: str | None = None
    """Assume this role first (the delivery pipeline's smoke test does, across accounts)."""

    @property
    def not_found(self) -> str:
        return f"endpoint {self.endpoint_name!r} not found in {self.region}: is the Inference stack deployed there?"

    def session(self) -> Any:
        import boto3

        if not self.role_arn:
            return boto3.Session(region_name=self.region)
        with aws_errors(f"role {self.role_arn} cannot be assumed: not found"):
            credentials = boto3.client("sts", region_name=self.region).assume_role(RoleArn=self.role_arn, RoleSessionName="predict-client")[
                "Credentials"
            ]
        return boto3.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            region_name=self.region,
        )


Invoke = Callable[[bytes], bytes]
"""Sends one CSV payload, returns the response body."""


@dataclass(frozen=True)
class Width:
    """How many features each row must have, and where that number comes from (for messages)."""

    features: int
    source: str


GZIP_MAGIC = b"\x1f\x8b"


def open_text(path: Path) -> TextIO:
    """A CSV file, or a gzip-compressed one (as batch inputs and exports often are), as text."""
    with path.open("rb") as probe:
        compressed = probe.read(2) == GZIP_MAGIC
    if compressed:
        return gzip.open(path, "rt", newline="", encoding="utf-8")
    return path.open(newline="", encoding="utf-8")


def read_rows(stream: TextIO, source: str, width: Width) -> list[list[str]]:
    rows: list[list[str]] = []
    for line_number, row in enumerate(csv.reader(stream), start=1):
        if not row or (len(row) == 1 and not row[0].strip()):
            continue  # a blank line; a line of commas is a row of missing values
        if len(row) != width.features:
            label = " (a label column?)" if len(row) == width.features + 1 else ""
            values = f"{len(row)} value" + ("" if len(row) == 1 else "s")
            raise ClientError(
                f"{source} line {line_number}: {values}{label}; the model takes {width.features} features ({width.source}), no label",
                EXIT_INPUT,
            )
        for column, cell in enumerate(row, start=1):
            if cell.strip():
                try:
                    float(cell)
                except ValueError:
                    raise ClientError(f"{source} line {line_number}, column {column}: {cell!r} is not a number", EXIT_INPUT) from None
        rows.append([cell.strip() for cell in row])
    if not rows:
        raise ClientError(f"{source}: no rows to send", EXIT_INPUT)
    return rows


def batches(rows: Sequence[Sequence[str]], batch_size: int) -> Iterator[tuple[int, bytes]]:
    """(row count, CSV payload) chunks of at most batch_size rows and MAX_PAYLOAD_BYTES."""
    lines: list[str] = []
    size = 0
    for row in rows:
        line = ",".join(row) + "\n"
        if lines and (len(lines) == batch_size or size + len(line) > MAX_PAYLOAD_BYTES):
            yield len(lines), "".join(lines).encode()
            lines, size = [], 0
        lines.append(line)
        size += len(line)
    if lines:
        yield len(lines), "".join(lines).encode()


def parse_predictions(body: bytes, expected: int) -> list[float]:
    """The XGBoost container answers text/csv with one value per row, by line or by comma."""
    text = body.decode("utf-8", errors="replace")
    values = [v for line in text.splitlines() for v in line.split(",") if v.strip()]
    try:
        predictions = [float(v) for v in values]
    except ValueError:
        raise ClientError(f"the endpoint's answer is not a list of numbers: {text[:200]!r}", EXIT_MODEL) from None
    if len(predictions) != expected:
        raise ClientError(f"the endpoint returned {len(predictions)} predictions for {expected} rows", EXIT_MODEL)
    return predictions


def predict(rows: Sequence[Sequence[str]], invoke: Invoke, batch_size: int) -> list[float]:
    predictions: list[float] = []
    for count, payload in batches(rows, batch_size):
        predictions += parse_predictions(invoke(payload), count)
    return predictions


# --- transports ------------------------------------------------------------------------------


def boto3_invoke(target: Target, client: Any = None) -> Invoke:
    runtime = client or target.session().client("sagemaker-runtime")

    def invoke(payload: bytes) -> bytes:
        with aws_errors(target.not_found):
            response = runtime.invoke_endpoint(EndpointName=target.endpoint_name, ContentType="text/csv", Accept="text/csv", Body=payload)
            return response["Body"].read()

    return invoke


def sdk_invoke(target: Target, session: Any = None) -> Invoke:
    from sagemaker.core.resources import Endpoint

    session = session or (target.session() if target.role_arn else None)
    # Built from its name rather than Endpoint.get: no DescribeEndpoint call, so a caller
    # needs sagemaker:InvokeEndpoint and nothing more (the smoke test's role, for one).
    endpoint = Endpoint(endpoint_name=target.endpoint_name)

    def invoke(payload: bytes) -> bytes:
        with aws_errors(target.not_found):
            response = endpoint.invoke(body=payload, content_type="text/csv", accept="text/csv", session=session, region=target.region)
            body = response.body
            return body.read() if hasattr(body, "read") else body if isinstance(body, bytes) else str(body).encode()

    return invoke


# --- command line -----------------------------------------------------------------------------


def resolve_target(
    environment: str | None, endpoint: str | None, region: str | None, role_arn: str | None = None, features: int | None = None
) -> tuple[Target, Width]:
    """The endpoint to call and the row width its model takes."""
    if features is not None and features < 1:
        raise ClientError(f"--features {features}: must be at least 1 (the number of features the model was trained on)", EXIT_INPUT)
    if endpoint:
        if not region:
            raise ClientError("--endpoint needs --region", EXIT_INPUT)
        if features is None:
            raise ClientError("--endpoint needs --features N: the number of features the served model was trained on", EXIT_INPUT)
        return Target(endpoint, region, role_arn), Width(features, "--features")
    # Imported only here: with --endpoint the client needs boto3 alone (all the pipeline's smoke test installs).
    from config import ConfigError, load_environment

    try:
        config = load_environment(environment or "")
    except ConfigError as error:
        raise ClientError(str(error), EXIT_INPUT) from None
    if config.inference is None or config.inference.model is None:
        raise ClientError(
            f"environment {config.name!r} serves no model (inference.model is not set in config/{config.name}.yaml)", EXIT_INPUT
        )
    configured = config.inference.model.features
    where = f"inference.model.features in config/{config.name}.yaml"
    if features is not None and features != configured:
        raise ClientError(f"--features {features} disagrees with {where} ({configured}): drop --features or fix the config", EXIT_INPUT)
    return Target(config.endpoint_name, region or config.region, role_arn), Width(configured, where)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m clients.predict", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--env", help="environment name (config/<env>.yaml gives the endpoint and region)")
    where.add_argument("--endpoint", help="endpoint name (with --region)")
    parser.add_argument("--region", help="AWS region (default: the environment's)")
    parser.add_argument("--via", choices=["boto3", "sdk"], default="boto3", help="InvokeEndpoint through boto3 or the SageMaker SDK")
    parser.add_argument("--batch-size", type=int, default=100, help="rows per request (default 100)")
    parser.add_argument(
        "--features",
        type=int,
        metavar="N",
        help="features per row: required with --endpoint; with --env it must match inference.model.features",
    )
    parser.add_argument("--assume-role", metavar="ROLE_ARN", help="assume this IAM role before calling (e.g. another account's)")
    parser.add_argument("input", nargs="?", default="-", help="CSV file, or - for standard input (default)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None, stdin: TextIO | None = None, stdout: TextIO | None = None, invoke: Invoke | None = None) -> int:
    args = parse_args(argv)

    def run() -> None:
        if args.batch_size < 1:
            raise ClientError(f"--batch-size {args.batch_size}: must be at least 1", EXIT_INPUT)
        target, width = resolve_target(args.env, args.endpoint, args.region, args.assume_role, args.features)
        source = "stdin" if args.input == "-" else args.input
        try:
            if args.input == "-":
                rows = read_rows(stdin or sys.stdin, source, width)
            else:
                with open_text(Path(args.input)) as handle:
                    rows = read_rows(handle, source, width)
        except (gzip.BadGzipFile, EOFError, zlib.error) as error:
            raise ClientError(f"cannot read {source}: a damaged gzip file ({one_line(str(error)) or 'truncated'})", EXIT_INPUT) from None
        except OSError as error:
            raise ClientError(f"cannot read {source}: {error.strerror}", EXIT_INPUT) from None
        except UnicodeDecodeError as error:
            raise ClientError(f"cannot read {source}: not UTF-8 text (byte {error.start} of the text)", EXIT_INPUT) from None
        except csv.Error as error:
            raise ClientError(f"cannot read {source}: not CSV text ({error})", EXIT_INPUT) from None
        send = invoke or (sdk_invoke(target) if args.via == "sdk" else boto3_invoke(target))
        predictions = predict(rows, send, args.batch_size)
        (stdout or sys.stdout).write("".join(f"{value:.6f}\n" for value in predictions))

    return run_reporting_errors(run)


if __name__ == "__main__":
    sys.exit(main())
