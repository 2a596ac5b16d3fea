"""A script-mode ``sourcedir.tar.gz`` whose bytes depend only on the files in it.

tar and gzip record modification times, owners and ordering; normalizing them makes the same
sources produce the same archive, hence the same CDK asset hash and stable template snapshots.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3_assets as s3_assets

from constructs import Construct
from ml_constructs.nag import partition_of
from ml_constructs.storage import resource_account


def deterministic_tarball(source_dir: Path, include: Sequence[str]) -> bytes:
    """gzip'd tar of the files matching ``include`` (glob patterns), normalized."""
    files = sorted({path for pattern in include for path in source_dir.glob(pattern) if path.is_file()})
    if not files:
        raise ValueError(f"no files match {list(include)} in {source_dir}")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for path in files:
            info = tarfile.TarInfo(path.relative_to(source_dir).as_posix())
            data = path.read_bytes()
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            archive.addfile(info, io.BytesIO(data))
    return gzip.compress(buffer.getvalue(), compresslevel=9, mtime=0)


@dataclass(frozen=True)
class SourceBundleProps:
    source_dir: Path
    entry_point: str
    include: Sequence[str] = ("*.py",)


class SourceBundle(Construct):
    """The training code as an S3 asset, ready to be a job's ``code`` input channel."""

    def __init__(self, scope: Construct, construct_id: str, props: SourceBundleProps) -> None:
        super().__init__(scope, construct_id)
        if not (props.source_dir / props.entry_point).is_file():
            raise ValueError(f"SourceBundleProps.entry_point: {props.entry_point!r} is not a file in {props.source_dir}")
        content = deterministic_tarball(props.source_dir, props.include)
        digest = hashlib.sha256(content).hexdigest()
        # A content-addressed file: concurrent synths and repeated runs reuse it.
        path = Path(tempfile.gettempdir()) / "ml-constructs-sourcedir" / digest / "sourcedir.tar.gz"
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(f".{digest[:8]}.partial")
            partial.write_bytes(content)
            partial.replace(path)
        self.entry_point = props.entry_point
        self.sha256 = digest
        self.asset = s3_assets.Asset(self, "Asset", path=str(path))

    @property
    def s3_uri(self) -> str:
        return self.asset.s3_object_url

    @property
    def channel_file_name(self) -> str:
        """The file name the archive gets inside a job's input channel.

        An ``S3Prefix`` channel whose prefix is exactly one object's key is written under the
        key's last path segment (the SageMaker SDK relies on this: with network isolation it
        uploads ``.../sourcedir.tar.gz`` so that the name matches). CDK names file assets
        ``<sha256><extension>``, so the archive arrives as ``<sha256>.gz``, not ``sourcedir.tar.gz``.
        """
        return PurePosixPath(self.asset.s3_object_key).name

    def grant_read(self, grantee: iam.IGrantable, region: str) -> None:
        """Read this one object, and list the assets bucket for its key only.

        An ``S3Prefix`` channel lists its prefix before downloading, so GetObject alone is not
        enough (SageMaker Developer Guide, "CreateTrainingJob API: Execution Role Permissions",
        https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html#sagemaker-roles-createtrainingjob-perms).
        """
        bucket_arn = f"arn:{partition_of(region)}:s3:::{self.asset.s3_bucket_name}"
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject"],
                resources=[f"{bucket_arn}/{self.asset.s3_object_key}"],
                # The bootstrap bucket is named after this account: keep the grant on it (see SecureBucket).
                conditions=resource_account(Stack.of(self).account),
            )
        )
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[bucket_arn],
                conditions={"StringLike": {"s3:prefix": f"{self.asset.s3_object_key}*"}, **resource_account(Stack.of(self).account)},
            )
        )
