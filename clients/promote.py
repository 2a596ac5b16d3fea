#!/usr/bin/env python3
"""Promote a model version as a Git change: list approved versions, write one into a config file.

    python -m clients.promote list --env dev
    python -m clients.promote promote --to dev                          # dev's newest approved version
    python -m clients.promote promote --to prod --from dev --version 7  # dev's version 7, into prod

A promotion first copies the version's artifact into the target environment's own model bucket,
under the write-once ``promoted/<source group>/<version>/model.tar.gz`` (a conditional write that S3
refuses once the key exists; the bucket policy refuses any other write and every delete there),
checking its SHA-256 as S3 stores it, and registers it as a version of the target's own registry
(``Approved``: it is the copy of an approved version, which its metadata names). The endpoint then
serves a file nobody can change, and not the trained one under ``training-jobs/``, which
training jobs can still write.

The version's data-quality baseline (``statistics.json`` and ``constraints.json``, which the
training pipeline records as the package's ``DriftCheckBaselines``) is copied the same way, to
``promoted/<source group>/<version>/baseline/``, and recorded on the target's version: the
endpoint's monitoring schedule then compares its traffic with the baseline of what it serves.

It writes ``inference.model.model_package_arn`` (the target's version), ``artifact_sha256``,
``baseline_prefix`` (when the version has a baseline) and ``inference.model.features``: the number of
features the version was trained on, from the package's ``CustomerMetadataProperties``
(``train:features``, recorded by the training pipeline with every final metric of the job);
clients and batch runs check row widths against it. Then commit ``config/<env>.yaml`` and open a
pull request: the delivery pipeline deploys it to each environment in order. Exit status: 0 ok,
2 bad input or config, 3 group or version not found, 4 no credentials or access, 5 version not
approved or without its feature count, 1 any other AWS error.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from clients.errors import EXIT_INPUT, EXIT_NOT_FOUND, EXIT_REFUSED, ClientError, aws_errors, run_reporting_errors
from config import ConfigError, EnvironmentConfig, load_environment
from config.loader import CONFIG_DIR

FEATURES_PROPERTY = "train:features"
"""The metric train.py emits; the pipeline copies every final metric into the package's metadata."""


def packages(client: Any, group: str, approved_only: bool) -> list[dict[str, Any]]:
    """Versions of the group, newest first."""
    arguments = {"ModelPackageGroupName": group, "SortBy": "CreationTime", "SortOrder": "Descending"}
    if approved_only:
        arguments["ModelApprovalStatus"] = "Approved"
    with aws_errors(f"model package group {group!r} not found"):
        client.describe_model_package_group(ModelPackageGroupName=group)
        return [p for page in client.get_paginator("list_model_packages").paginate(**arguments) for p in page["ModelPackageSummaryList"]]


def choose(client: Any, group: str, version: int | None) -> dict[str, Any]:
    if version is None:
        approved = packages(client, group, approved_only=True)
        if not approved:
            raise ClientError(f"no approved version in {group!r}: approve one in the model registry first", EXIT_NOT_FOUND)
        return approved[0]
    every = {p["ModelPackageVersion"]: p for p in packages(client, group, approved_only=False)}
    if version not in every:
        known = ", ".join(str(v) for v in sorted(every)) or "none"
        raise ClientError(f"{group!r} has no version {version}; versions: {known}", EXIT_NOT_FOUND)
    chosen = every[version]
    if chosen["ModelApprovalStatus"] != "Approved":
        raise ClientError(
            f"version {version} of {group!r} is {chosen['ModelApprovalStatus']}, not Approved: approve it in the model registry first",
            EXIT_REFUSED,
        )
    return chosen


def describe(client: Any, package: dict[str, Any]) -> dict[str, Any]:
    arn = package["ModelPackageArn"]
    with aws_errors(f"model package {arn} not found"):
        return client.describe_model_package(ModelPackageName=arn)  # type: ignore[no-any-return]


def feature_count(described: dict[str, Any], group: str, package: dict[str, Any]) -> int:
    """The ``train:features`` the package was registered with (ListModelPackages does not return metadata)."""
    properties = described.get("CustomerMetadataProperties") or {}
    version = f"version {package['ModelPackageVersion']} of {group!r}"
    value = properties.get(FEATURES_PROPERTY)
    if value is None:
        raise ClientError(
            f"{version} has no {FEATURES_PROPERTY} in its CustomerMetadataProperties, so its feature count is unknown: "
            "promote a version trained since train.py reports it",
            EXIT_REFUSED,
        )
    try:
        count = float(value)
    except ValueError:
        count = 0.0
    if not count.is_integer() or count < 1:
        raise ClientError(
            f"{version} has {FEATURES_PROPERTY} = {value!r}: not a number of features (a whole number, at least 1)", EXIT_REFUSED
        )
    return int(count)


PROMOTED_PREFIX = "promoted/"
"""The Data stack's write-once prefix of the model bucket (stacks.data_stack.PROMOTED_PREFIX)."""
MAX_SINGLE_PUT = 5 * 1024**3
"""PutObject's limit; conditional writes are enforced on the prefix, so no multipart upload."""


def copy_artifact(s3: Any, source_url: str, bucket: str, key: str) -> tuple[str, str | None]:
    """Copy ``source_url`` to ``s3://bucket/key`` once; returns its SHA-256 (hex) and version id.

    PutObject with ``If-None-Match: *`` and the body's ``ChecksumSHA256``: S3 refuses the write if
    the key exists (412) and stores the checksum it verified. A key that exists already is the
    same version promoted before when its checksum matches; anything else is refused.
    """
    from botocore.exceptions import ClientError as BotoClientError

    if not source_url.startswith("s3://") or "/" not in source_url[5:]:
        raise ClientError(f"the version's ModelDataUrl {source_url!r} is not an S3 object", EXIT_REFUSED)
    source_bucket, source_key = source_url[5:].split("/", 1)
    with aws_errors(f"artifact {source_url} not found"):
        body = s3.get_object(Bucket=source_bucket, Key=source_key)["Body"].read()
    if len(body) > MAX_SINGLE_PUT:
        raise ClientError(f"artifact {source_url} is larger than 5 GB, more than one conditional PutObject can write", EXIT_REFUSED)
    digest = hashlib.sha256(body).digest()
    checksum = base64.b64encode(digest).decode()
    try:
        written = s3.put_object(Bucket=bucket, Key=key, Body=body, IfNoneMatch="*", ChecksumSHA256=checksum)
        return digest.hex(), written.get("VersionId")
    except BotoClientError as error:
        if error.response.get("Error", {}).get("Code") not in ("PreconditionFailed", "412"):
            with aws_errors(f"bucket {bucket} not found"):
                raise
    with aws_errors(f"s3://{bucket}/{key} not found"):
        existing = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    if existing.get("ChecksumSHA256") != checksum:
        raise ClientError(
            f"s3://{bucket}/{key} exists with other content: it is write-once, so this version cannot be promoted there", EXIT_REFUSED
        )
    return digest.hex(), existing.get("VersionId")


BASELINE_FILES = {"Statistics": "statistics.json", "Constraints": "constraints.json"}


def recorded_baseline(package: dict[str, Any]) -> dict[str, Any] | None:
    """The version's ``DriftCheckBaselines.ModelDataQuality``, when it has both files."""
    recorded = (package.get("DriftCheckBaselines") or {}).get("ModelDataQuality") or {}
    return recorded if all(part in recorded for part in BASELINE_FILES) else None


def copy_baseline(s3: Any, package: dict[str, Any], bucket: str, folder: str) -> dict[str, Any] | None:
    """Copy the version's data-quality baseline into ``s3://bucket/folder``, once; returns what to
    record on the copy (``DriftCheckBaselines.ModelDataQuality``), or None for a version without one."""
    recorded = recorded_baseline(package)
    if recorded is None:
        return None
    copied: dict[str, Any] = {}
    for part, file_name in BASELINE_FILES.items():
        copy_artifact(s3, recorded[part]["S3Uri"], bucket, folder + file_name)
        copied[part] = {"ContentType": recorded[part].get("ContentType", "application/json"), "S3Uri": f"s3://{bucket}/{folder}{file_name}"}
    return copied


def register_copy(
    registry: Any,
    group: str,
    package: dict[str, Any],
    artifact_url: str,
    sha256: str,
    version_id: str | None,
    baseline: dict[str, Any] | None = None,
) -> str:
    """A version of ``group`` serving the copy, approved (it is an approved version's copy)."""
    (container,) = package["InferenceSpecification"]["Containers"]
    copied = {k: v for k, v in container.items() if k in ("Image", "Framework", "FrameworkVersion")}
    properties = dict(package.get("CustomerMetadataProperties") or {})
    properties |= {"promoted_from": package["ModelPackageArn"], "artifact:sha256": sha256}
    if version_id:
        properties["artifact:version_id"] = version_id
    with aws_errors(f"model package group {group!r} not found"):
        return registry.create_model_package(
            ModelPackageGroupName=group,
            ModelPackageDescription=f"Promoted from {package['ModelPackageArn']}"[:1024],
            ModelApprovalStatus="Approved",
            InferenceSpecification={
                "Containers": [{**copied, "ModelDataUrl": artifact_url}],
                "SupportedContentTypes": package["InferenceSpecification"]["SupportedContentTypes"],
                "SupportedResponseMIMETypes": package["InferenceSpecification"]["SupportedResponseMIMETypes"],
            },
            CustomerMetadataProperties=properties,
            **({"DriftCheckBaselines": {"ModelDataQuality": baseline}, "ModelMetrics": {"ModelDataQuality": baseline}} if baseline else {}),
        )["ModelPackageArn"]


SOURCE_KEYS = ("model_package_arn", "artifact_key", "framework_version", "artifact_sha256", "baseline_prefix")
"""What says where a served version comes from; a promotion replaces all of them with the package."""


def write_model(
    config_path: Path, package_arn: str, features: int, sha256: str, baseline_prefix: str | None = None
) -> tuple[str | None, int | None]:
    """Point ``inference.model`` at the package; returns the old source and feature count.

    The file is edited line by line where a YAML parser says the keys are, so that the diff of a
    promotion is exactly the lines that change: a YAML dump would re-indent lists and re-space
    comments elsewhere in the file.
    """
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap

    text = config_path.read_text(encoding="utf-8")
    document = YAML().load(text)
    inference = document.get("inference") if isinstance(document, CommentedMap) else None
    if not isinstance(inference, CommentedMap) or not inference:
        raise ClientError(f"{config_path}: no inference section; describe the endpoint (variant, autoscaling) before promoting", EXIT_INPUT)
    lines = text.splitlines(keepends=True)
    model = inference.get("model")
    if model is None:
        _insert_model_block(lines, inference, package_arn, features, sha256, baseline_prefix)
        config_path.write_text("".join(lines), encoding="utf-8")
        return None, None
    if not isinstance(model, CommentedMap) or model.fa.flow_style():
        raise ClientError(f"{config_path}: inference.model: write it as a block mapping (one key per line) to promote into it", EXIT_INPUT)
    old = model.get("model_package_arn") or model.get("artifact_key")
    old_features = model.get("features")
    for key in (*SOURCE_KEYS, "features"):
        if key in model and model.lc.value(key)[0] != model.lc.key(key)[0]:
            raise ClientError(f"{config_path}: inference.model.{key}: write its value on the key's line to promote", EXIT_INPUT)
    present = [key for key in SOURCE_KEYS if key in model]
    indent = " " * model.lc.col
    edits: dict[int, str | None] = {model.lc.key(key)[0]: None for key in present}
    if present:
        edits[model.lc.key(present[0])[0]] = _with_value(lines[model.lc.key(present[0])[0]], present[0], "model_package_arn", package_arn)
    if "features" in model:
        row = model.lc.key("features")[0]
        edits[row] = _with_value(lines[row], "features", "features", str(features))
    else:
        first = min(edits) if edits else model.lc.line
        edits[first] = (edits.get(first) or "") + f"{indent}features: {features}\n"
    pinned = f"{indent}artifact_sha256: {sha256}\n" + (f"{indent}baseline_prefix: {baseline_prefix}\n" if baseline_prefix else "")
    if not present:
        first = min(model.lc.key(key)[0] for key in model)
        edits[first] = f"{indent}model_package_arn: {package_arn}\n" + pinned + (edits.get(first) or lines[first])
    else:
        row = model.lc.key(present[0])[0]
        edits[row] = (edits[row] or "") + pinned
    for row in sorted(edits, reverse=True):
        replacement = edits[row]
        lines[row : row + 1] = [replacement] if replacement else []
    config_path.write_text("".join(lines), encoding="utf-8")
    return old, old_features


def _with_value(line: str, key: str, new_key: str, value: str) -> str:
    """``line`` (``<indent>key: value  # comment``) with another key and value, indent and comment kept."""
    indent = line[: len(line) - len(line.lstrip())]
    rest = line.lstrip()[len(key) + 1 :]
    comment = rest[rest.index(" #") :].rstrip("\r\n") if " #" in rest else ""
    if comment:
        # Keep the comment where it was when the new value fits before it.
        width = len(line.rstrip("\r\n")) - len(comment)
        head = f"{indent}{new_key}: {value}"
        return f"{head.ljust(width)}{comment}\n" if len(head) < width else f"{head}{comment}\n"
    return f"{indent}{new_key}: {value}\n"


def _insert_model_block(
    lines: list[str], inference: Any, package_arn: str, features: int, sha256: str, baseline_prefix: str | None
) -> None:
    """A ``model:`` block first in ``inference`` (in place of an empty ``model:`` key, if there is one)."""
    indent = " " * inference.lc.col
    step = " " * max(inference.lc.col, 2)
    if "model" in inference:
        first = inference.lc.key("model")[0]
        del lines[first]
    else:
        first = min(inference.lc.key(key)[0] for key in inference)
    lines[first:first] = [
        f"{indent}model:\n",
        f"{indent}{step}model_package_arn: {package_arn}\n",
        f"{indent}{step}artifact_sha256: {sha256}\n",
        *([f"{indent}{step}baseline_prefix: {baseline_prefix}\n"] if baseline_prefix else []),
        f"{indent}{step}features: {features}\n",
    ]


def client_for(config: EnvironmentConfig, service: str = "sagemaker") -> Any:
    import boto3

    return boto3.client(service, region_name=config.region)


def list_versions(name: str, out: TextIO, config_dir: Path, client: Any = None) -> None:
    config = environment(name, config_dir)
    group = config.registry_name
    for package in packages(client or client_for(config), group, approved_only=True):
        out.write(f"{package['ModelPackageVersion']}\t{package['CreationTime']:%Y-%m-%d %H:%M}\t{package['ModelPackageArn']}\n")


def promote(
    to: str,
    source: str | None,
    version: int | None,
    out: TextIO,
    config_dir: Path,
    client: Any = None,
    s3: Any = None,
    target_client: Any = None,
) -> None:
    """``client`` reads the source registry, ``target_client`` (default: ``client``) registers in
    the target's; with real credentials both are the target account's (the source shares its
    registry, artifacts and key with it)."""
    target = environment(to, config_dir)
    origin = environment(source or to, config_dir)
    if origin.region != target.region:
        raise ClientError(
            f"{origin.name} is in {origin.region} and {target.name} in {target.region}: SageMaker hosts packages of its own region only",
            EXIT_INPUT,
        )
    if origin.account != target.account and target.account not in origin.registry.shared_with_accounts:
        raise ClientError(
            f"{origin.name}'s registry is not shared with {target.name}'s account {target.account}: add {target.account!r} to "
            f"registry.shared_with_accounts in {origin.name}.yaml and deploy {origin.name} first",
            EXIT_INPUT,
        )
    registry = client or client_for(origin)
    package = choose(registry, origin.registry_name, version)
    described = describe(registry, package)
    features = feature_count(described, origin.registry_name, package)
    if target.monitoring.data_quality.enabled and recorded_baseline(described) is None:
        raise ClientError(
            f"version {package['ModelPackageVersion']} of {origin.registry_name!r} records no data-quality baseline "
            f"(DriftCheckBaselines.ModelDataQuality), and {target.name}'s endpoint is monitored against one "
            "(monitoring.data_quality.enabled): promote a version trained since the pipeline computes baselines",
            EXIT_REFUSED,
        )
    path = config_dir / f"{target.name}.yaml"
    original = path.read_text(encoding="utf-8")
    # Refuse a config that cannot take the model before anything is copied or registered.
    write_model(path, package["ModelPackageArn"], features, "0" * 64)
    path.write_text(original, encoding="utf-8")
    folder = f"{PROMOTED_PREFIX}{origin.registry_name}/{package['ModelPackageVersion']}/"
    bucket, key = target.bucket_names["models"], f"{folder}model.tar.gz"
    (container,) = described["InferenceSpecification"]["Containers"]
    s3 = s3 or client_for(target, "s3")
    sha256, version_id = copy_artifact(s3, container["ModelDataUrl"], bucket, key)
    baseline = copy_baseline(s3, described, bucket, f"{folder}baseline/")
    promoted = register_copy(
        target_client or client or client_for(target), target.registry_name, described, f"s3://{bucket}/{key}", sha256, version_id, baseline
    )
    out.write(f"s3://{bucket}/{key}: sha256 {sha256} (version {version_id}); registered as {promoted}\n")
    baseline_prefix = f"{folder}baseline/" if baseline else None
    if baseline_prefix:
        out.write(f"s3://{bucket}/{baseline_prefix}: the version's data-quality baseline\n")
    old, old_features = write_model(path, promoted, features, sha256, baseline_prefix)
    try:
        load_environment(target.name, config_dir)
    except ConfigError as error:
        path.write_text(original, encoding="utf-8")
        raise ClientError(f"not written, the result would not be valid: {error}", EXIT_INPUT) from None
    out.write(f"{path.name}: inference.model.model_package_arn = {promoted} (was {old})\n")
    out.write(f"{path.name}: inference.model.features = {features} (was {old_features})\n")
    out.write("Commit it and open a pull request; the delivery pipeline deploys it.\n")


def environment(name: str, config_dir: Path) -> EnvironmentConfig:
    try:
        return load_environment(name, config_dir)
    except ConfigError as error:
        raise ClientError(str(error), EXIT_INPUT) from None


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m clients.promote", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="approved versions of an environment's registry, newest first")
    listing.add_argument("--env", required=True)
    promoting = commands.add_parser("promote", help="write an approved version into an environment's config")
    promoting.add_argument("--to", required=True, help="environment whose config/<env>.yaml is written")
    promoting.add_argument("--from", dest="source", help="environment whose registry holds the version (default: --to)")
    promoting.add_argument("--version", type=int, help="model package version (default: the newest approved)")
    return parser.parse_args(argv)


def main(
    argv: Sequence[str] | None = None,
    out: TextIO | None = None,
    config_dir: Path = CONFIG_DIR,
    client: Any = None,
    s3: Any = None,
    target_client: Any = None,
) -> int:
    args = parse_args(argv)
    stream = out or sys.stdout
    if args.command == "list":
        return run_reporting_errors(lambda: list_versions(args.env, stream, config_dir, client))
    return run_reporting_errors(lambda: promote(args.to, args.source, args.version, stream, config_dir, client, s3, target_client))


if __name__ == "__main__":
    sys.exit(main())
