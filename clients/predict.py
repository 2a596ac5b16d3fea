#!/usr/bin/env python3
"""Send CSV rows to an environment's real-time endpoint and print one prediction per row.

    python -m clients.predict --env dev rows.csv          # boto3 (sagemaker-runtime InvokeEndpoint)
    python -m clients.predict --env dev --via sdk - < rows.csv   # SageMaker Python SDK (sagemaker-core)
    python -m clients.predict --endpoint my-endpoint --region eu-west-1 --features 30 rows.csv
    python -m clients.predict --env dev --via api rows.csv          # the prediction API, SigV4 (URL from the stack output)
    python -m clients.predict --env dev --via api --api-key-file key.txt rows.csv   # the prediction API, an API key

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

from clients.errors import (
    EXIT_AWS,
    EXIT_CREDENTIALS,
    EXIT_INPUT,
    EXIT_NOT_FOUND,
    EXIT_REFUSED,
    NO_CREDENTIALS,
    ClientError,
    aws_errors,
    one_line,
    run_reporting_errors,
)

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


API_URL_OUTPUT = "PredictionApiUrl"
"""The Inference stack's output naming ``POST /predictions``."""


def api_url(environment: str, region: str, session: Any = None) -> str:
    """The prediction API's URL from the environment's Inference stack (``<env>-Inference``)."""
    import boto3

    stack = f"{environment}-Inference"
    cloudformation = (session or boto3.Session(region_name=region)).client("cloudformation", region_name=region)
    missing = f"stack {stack} not found in {region}: is the Inference stack deployed there?"
    try:
        with aws_errors(missing):
            outputs = cloudformation.describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])
    except ClientError as error:
        # CloudFormation says ValidationError "Stack with id ... does not exist".
        if "does not exist" in str(error):
            raise ClientError(missing, EXIT_NOT_FOUND) from None
        raise
    for output in outputs:
        if output["OutputKey"] == API_URL_OUTPUT:
            return output["OutputValue"]
    raise ClientError(f"stack {stack} has no prediction API (set inference.api in config/{environment}.yaml and deploy)", EXIT_INPUT)


def api_invoke(url: str, region: str, api_key: str | None = None, session: Any = None, timeout: float = 35.0) -> Invoke:
    """POST text/csv to the prediction API: with an API key (x-api-key), or signed with SigV4 (execute-api)."""
    import urllib.error
    import urllib.request

    def invoke(payload: bytes) -> bytes:
        headers = {"Content-Type": "text/csv", "Accept": "text/csv"}
        if api_key:
            headers["x-api-key"] = api_key
        else:
            headers = _signed(url, payload, headers, region, session)
        request = urllib.request.Request(url, data=payload, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.read()
        except urllib.error.HTTPError as error:
            raise _api_error(error.code, error.read()) from None
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise ClientError(f"cannot reach the prediction API at {url}: {one_line(str(reason))}", EXIT_AWS) from None

    return invoke


def _signed(url: str, payload: bytes, headers: dict[str, str], region: str, session: Any) -> dict[str, str]:
    import boto3
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    credentials = (session or boto3.Session(region_name=region)).get_credentials()
    if credentials is None:
        raise ClientError(NO_CREDENTIALS, EXIT_CREDENTIALS)
    request = AWSRequest(method="POST", url=url, data=payload, headers=headers)
    SigV4Auth(credentials.get_frozen_credentials(), "execute-api", region).add_auth(request)
    return dict(request.headers.items())


def _api_error(status: int, body: bytes) -> ClientError:
    """The API's JSON answer (README, "Prediction API": the error table) as one line and an exit code."""
    import json

    try:
        message = one_line(str(json.loads(body).get("message") or ""))
    except (ValueError, AttributeError):
        message = ""
    message = message or one_line(body.decode("utf-8", errors="replace"))[:200] or "no message"
    if status in (401, 403):
        return ClientError(f"the prediction API refused the credentials ({status}): {message}", EXIT_CREDENTIALS)
    if status == 503:
        return ClientError(f"the prediction API has no model to call ({status}): {message}", EXIT_NOT_FOUND)
    if status == 429:
        return ClientError(f"the prediction API throttled the request ({status}): {message}", EXIT_AWS)
    if 400 <= status < 500:
        return ClientError(f"the prediction API refused the input ({status}): {message}", EXIT_REFUSED)
    return ClientError(f"the prediction API failed ({status}): {message}", EXIT_AWS)


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
    parser.add_argument(
        "--via",
        choices=["boto3", "sdk", "api"],
        default="boto3",
        help="InvokeEndpoint through boto3 or the SageMaker SDK, or POST to the environment's prediction API",
    )
    parser.add_argument("--url", help="with --via api: the API's URL (default: the Inference stack's PredictionApiUrl output)")
    parser.add_argument(
        "--api-key-file", metavar="PATH", help="with --via api: send the API key in this file (x-api-key) instead of signing with SigV4"
    )
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
        send = invoke or _transport(args, target)
        predictions = predict(rows, send, args.batch_size)
        (stdout or sys.stdout).write("".join(f"{value:.6f}\n" for value in predictions))

    return run_reporting_errors(run)


def _transport(args: argparse.Namespace, target: Target) -> Invoke:
    if args.via == "sdk":
        return sdk_invoke(target)
    if args.via != "api":
        return boto3_invoke(target)
    api_key = None
    if args.api_key_file:
        try:
            api_key = Path(args.api_key_file).read_text(encoding="utf-8").strip()
        except OSError as error:
            raise ClientError(f"cannot read {args.api_key_file}: {error.strerror}", EXIT_INPUT) from None
        if not api_key:
            raise ClientError(f"{args.api_key_file} is empty: it should hold the API key", EXIT_INPUT)
    session = target.session() if target.role_arn else None
    if args.url:
        url = args.url
    elif args.env:
        url = api_url(args.env, target.region, session)
    else:
        raise ClientError("--via api with --endpoint needs --url (the API's URL)", EXIT_INPUT)
    return api_invoke(url, target.region, api_key, session)


if __name__ == "__main__":
    sys.exit(main())
