#!/usr/bin/env python3
"""Send CSV rows to an environment's real-time endpoint and print one prediction per row.

    python -m clients.predict --env dev rows.csv          # boto3 (sagemaker-runtime InvokeEndpoint)
    python -m clients.predict --env dev --via sdk - < rows.csv   # SageMaker Python SDK (sagemaker-core)
    python -m clients.predict --endpoint my-endpoint --region eu-west-1 rows.csv

Rows are features only (no label column), numeric, comma-separated, as in training. Exit
status: 0 ok, 2 bad input, 3 endpoint not found, 4 no credentials or access, 5 model error,
1 any other AWS error. Each failure prints one line starting with ``error:``.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from clients.errors import EXIT_INPUT, EXIT_REFUSED, ClientError, aws_errors, run_reporting_errors

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


def read_rows(stream: TextIO, source: str, expected_features: int | None = None) -> list[list[str]]:
    rows: list[list[str]] = []
    width = expected_features
    for line_number, row in enumerate(csv.reader(stream), start=1):
        if not row or all(not cell.strip() for cell in row):
            continue
        if width is None:
            width = len(row)
        if len(row) != width:
            raise ClientError(f"{source} line {line_number}: {len(row)} values, expected {width} (features only, no label)", EXIT_INPUT)
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


def resolve_target(environment: str | None, endpoint: str | None, region: str | None, role_arn: str | None = None) -> Target:
    if endpoint:
        if not region:
            raise ClientError("--endpoint needs --region", EXIT_INPUT)
        return Target(endpoint, region, role_arn)
    from config import ConfigError, load_environment

    try:
        config = load_environment(environment or "")
    except ConfigError as error:
        raise ClientError(str(error), EXIT_INPUT) from None
    if not config.serves_a_model:
        raise ClientError(
            f"environment {config.name!r} serves no model (inference.model is not set in config/{config.name}.yaml)", EXIT_INPUT
        )
    return Target(config.endpoint_name, region or config.region, role_arn)


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
    parser.add_argument("--features", type=int, help="expected number of features per row")
    parser.add_argument("--assume-role", metavar="ROLE_ARN", help="assume this IAM role before calling (e.g. another account's)")
    parser.add_argument("input", nargs="?", default="-", help="CSV file, or - for standard input (default)")
    args = parser.parse_args(argv)
    if args.batch_size < 1:
        parser.error("--batch-size must be at least 1")
    return args


def main(argv: Sequence[str] | None = None, stdin: TextIO | None = None, stdout: TextIO | None = None, invoke: Invoke | None = None) -> int:
    args = parse_args(argv)

    def run() -> None:
        target = resolve_target(args.env, args.endpoint, args.region, args.assume_role)
        if args.input == "-":
            rows = read_rows(stdin or sys.stdin, "stdin", args.features)
        else:
            try:
                with open(args.input, newline="", encoding="utf-8") as handle:
                    rows = read_rows(handle, args.input, args.features)
            except OSError as error:
                raise ClientError(f"cannot read {args.input}: {error.strerror}", EXIT_INPUT) from None
        send = invoke or (sdk_invoke(target) if args.via == "sdk" else boto3_invoke(target))
        predictions = predict(rows, send, args.batch_size)
        (stdout or sys.stdout).write("".join(f"{value:.6f}\n" for value in predictions))

    return run_reporting_errors(run)


if __name__ == "__main__":
    sys.exit(main())
