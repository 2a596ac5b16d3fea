#!/usr/bin/env python3
"""Deploy an environment to a local AWS emulator (moto's server), with no AWS account.

    make local-deploy            # or: .venv/bin/python scripts/local_deploy.py --env dev

Starts moto on 127.0.0.1 (a free port), synthesizes the environment once through the pinned CDK
CLI while it bootstraps the account, deploys that cloud assembly, checks with boto3 that what
matters is there, deploys again (an update), destroys, and stops the server. The emulator is not
AWS: it skips resources it does not implement (Application Auto Scaling, CloudWatch alarms and
dashboards, bucket policies, ...) and runs no training or transform job. Workarounds that apply
here only: templates without the bootstrap-version rule (`-c local-emulator=true`),
`--method=direct` deployments, and no tags on the KMS key and the SSM parameter.

Every run gives the CLI a CDK home of its own (`CDK_HOME`, removed with the run): the CLI caches
the account of each access key id there, and with the user's `~/.cdk` a dev run taught it that
this script's fixed key belongs to the dev account, so a later `--env prod` failed to bootstrap
("the current credentials are for 111111111111").
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_DIR))

from config import ConfigError, EnvironmentConfig, load_environment  # noqa: E402

CDK = str(PROJECT_DIR / "node_modules" / ".bin" / "cdk")
MOTO_SERVER = str(Path(sys.executable).with_name("moto_server"))
STEP_TIMEOUT_SECONDS = 300


class LocalDeployError(Exception):
    pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class MotoServer:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def wait_until_up(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/moto-api/", timeout=2):
                    return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise LocalDeployError(f"moto server did not start (see {self.log})") from None
                time.sleep(0.05)


@contextlib.contextmanager
def moto_server(account: str, log: Path) -> Iterator[MotoServer]:
    """moto on loopback, started but not waited for (`wait_until_up`), so that work that needs no
    AWS call yet overlaps its start. The URL says localhost: moto reads template URLs only there."""
    port = free_port()
    env = os.environ | {"MOTO_ACCOUNT_ID": account, "PYTHONUNBUFFERED": "1"}
    with log.open("w") as output:
        process = subprocess.Popen([MOTO_SERVER, "-H", "127.0.0.1", "-p", str(port)], stdout=output, stderr=subprocess.STDOUT, env=env)
    try:
        yield MotoServer(f"http://localhost:{port}", process, log)
    finally:
        # Its state is in memory and thrown away: SIGTERM's orderly interpreter exit costs a second.
        process.kill()
        process.wait()


@dataclass
class LocalDeployment:
    config: EnvironmentConfig
    endpoint_url: str
    workdir: Path
    log: list[str] = field(default_factory=list)
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def assembly(self) -> Path:
        return self.workdir / "cdk.out"

    @property
    def env(self) -> dict[str, str]:
        keep = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        return keep | {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_REGION": self.config.region,
            "AWS_DEFAULT_REGION": self.config.region,
            "AWS_EC2_METADATA_DISABLED": "true",
            # The CLI's caches (account per access key id, notices, connectivity) for this run only.
            "CDK_HOME": str(self.workdir / "cdk-home"),
            "CDK_DISABLE_CLI_TELEMETRY": "1",
            "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
            "NODE_NO_WARNINGS": "1",
        }

    def cdk(self, *args: str, cwd: Path = PROJECT_DIR) -> None:
        # --no-notices: nothing to fetch from the internet for a run on loopback.
        command = [CDK, *args, "--no-notices"]
        started = time.monotonic()
        result = subprocess.run(command, cwd=cwd, env=self.env, capture_output=True, text=True, timeout=STEP_TIMEOUT_SECONDS, check=False)
        self.log.append(f"cdk {args[0]}: {time.monotonic() - started:.1f} s")
        if result.returncode != 0:
            tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
            emulator = self.workdir / "moto.log"
            errors = [line for line in emulator.read_text().splitlines() if "Error" in line or "not supported" in line][-8:]
            raise LocalDeployError(f"`cdk {' '.join(args)}` failed:\n{tail}\nemulator:\n" + "\n".join(errors))

    def synth(self) -> None:
        """The environment's cloud assembly, once: every later step reads it (`--app`), not the app."""
        name = self.config.name
        self.cdk("synth", "--context", f"env={name}", "--context", "local-emulator=true", "--output", str(self.assembly), "--quiet")

    def bootstrap(self) -> None:
        # From the run's folder, where no cdk.json names the app: `cdk bootstrap` in the project
        # synthesizes every environment first (seconds of jsii) only to learn what is given here.
        self.cdk("bootstrap", f"aws://{self.config.account}/{self.config.region}", cwd=self.workdir)

    def deploy(self, update: bool = False) -> None:
        self.cdk(
            "deploy", "--app", str(self.assembly), f"{self.config.name}/*",
            "--method=direct", "--require-approval=never", "--progress=events",
            # An update: the CLI would skip unchanged templates; --force sends them through CloudFormation.
            *(["--force"] if update else []),
        )  # fmt: skip

    def destroy(self) -> None:
        self.cdk("destroy", "--app", str(self.assembly), f"{self.config.name}/*", "--force")

    def client(self, service: str) -> Any:
        import boto3

        if service not in self._clients:
            self._clients[service] = boto3.client(
                service,
                endpoint_url=self.endpoint_url,
                region_name=self.config.region,
                aws_access_key_id="local",
                aws_secret_access_key="local",
            )
        return self._clients[service]


def verify(deployment: LocalDeployment) -> list[str]:
    """What was deployed, checked resource by resource; returns the summary lines."""
    config = deployment.config
    prefix, region, account = config.prefix, config.region, config.account
    found: list[str] = []

    cloudformation = deployment.client("cloudformation")
    stacks = {s["StackName"]: s["StackStatus"] for s in cloudformation.describe_stacks()["Stacks"]}
    expected = [f"{config.name}-{s}" for s in ("Data", "Training", "BatchTransform", "Monitoring", "Inference")]
    missing = [s for s in expected if not str(stacks.get(s, "")).endswith("_COMPLETE")]
    if missing:
        raise LocalDeployError(f"stacks not complete: {missing} (all: {stacks})")
    found.append(f"stacks: {', '.join(expected)}")

    s3 = deployment.client("s3")
    for purpose in ("data", "models", "batch"):
        bucket = f"{prefix}-{purpose}-{account}-{region}"
        rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
        if rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] != "aws:kms":
            raise LocalDeployError(f"bucket {bucket} is not KMS-encrypted: {rule}")
    found.append("buckets: data, models, batch with SSE-KMS")

    roles = [r["RoleName"] for r in deployment.client("iam").list_roles()["Roles"]]
    if not any("TrainingJobRole" in r for r in roles):
        raise LocalDeployError(f"no training job role among {roles}")
    found.append(f"roles: {len(roles)}")

    machines = [m["name"] for m in deployment.client("stepfunctions").list_state_machines()["stateMachines"]]
    if len(machines) < 2:
        raise LocalDeployError(f"expected the training and batch state machines, found {machines}")
    found.append(f"state machines: {len(machines)}")

    rules = deployment.client("events").list_rules()["Rules"]
    patterns = [r.get("EventPattern", "") for r in rules]
    if not any("training/*/_SUCCESS" in p for p in patterns) or not any("input/*/_SUCCESS" in p for p in patterns):
        raise LocalDeployError(f"marker rules missing: {patterns}")
    found.append(f"event rules: {len(rules)}")

    topics = deployment.client("sns").list_topics()["Topics"]
    if len(topics) < 3:
        raise LocalDeployError(f"expected the training, batch and alarm topics, found {topics}")
    found.append(f"topics: {len(topics)}")

    if config.serves_a_model:
        sagemaker = deployment.client("sagemaker")
        # The emulator names endpoints after their logical id, not EndpointName: find it by listing.
        endpoints = sagemaker.list_endpoints()["Endpoints"]
        if len(endpoints) != 1:
            raise LocalDeployError(f"expected one endpoint, found {endpoints}")
        endpoint = sagemaker.describe_endpoint(EndpointName=endpoints[0]["EndpointName"])
        endpoint_config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
        if not endpoint_config.get("KmsKeyId"):
            raise LocalDeployError(f"endpoint config has no KMS key: {endpoint_config}")
        variant = endpoint_config["ProductionVariants"][0]
        models = [m["ModelName"] for m in sagemaker.list_models()["Models"]]
        if variant["ModelName"] not in models:
            raise LocalDeployError(f"the endpoint's model {variant['ModelName']} is not among {models}")
        found.append(f"endpoint: variant {variant['VariantName']} on {variant['InstanceType']}, config with KMS; models: {len(models)}")
    return found


def run(name: str) -> list[str]:
    try:
        config = load_environment(name)
    except ConfigError as error:
        raise LocalDeployError(str(error)) from None
    workdir = Path(tempfile.mkdtemp(prefix="local-deploy-"))
    try:
        with moto_server(config.account, workdir / "moto.log") as server:
            return exercise(LocalDeployment(config, server.url, workdir), server)
    finally:
        if os.environ.get("LOCAL_DEPLOY_KEEP") != "1":  # keep the emulator's log to debug
            shutil.rmtree(workdir, ignore_errors=True)


def exercise(deployment: LocalDeployment, server: MotoServer) -> list[str]:
    started = time.monotonic()
    # Synth (Python and jsii, seconds of CPU) needs no emulator: it overlaps the server's start and
    # the bootstrap, which also pays for moto's first CloudFormation request (it imports every
    # service it models). The CLI's lookup of a default account may find the server not up yet:
    # synth then goes on without one, which these stacks, whose accounts are in config, never use.
    with ThreadPoolExecutor(max_workers=1) as background:
        synthesized = background.submit(deployment.synth)
        server.wait_until_up()
        deployment.bootstrap()
        synthesized.result()
    deployment.log.sort(key=lambda line: not line.startswith("cdk synth"))  # whichever of the two ended first
    deployment.deploy()
    summary = verify(deployment)
    deployment.deploy(update=True)
    verify(deployment)
    deployment.destroy()
    stacks = deployment.client("cloudformation").describe_stacks()["Stacks"]
    left = [s["StackName"] for s in stacks if s["StackName"] != "CDKToolkit"]
    if left:
        raise LocalDeployError(f"stacks left after destroy: {left}")
    return [*summary, *deployment.log, f"total: {time.monotonic() - started:.1f} s (synth, bootstrap, deploy, verify, update, destroy)"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="dev", help="environment to deploy (default: dev)")
    args = parser.parse_args(argv)
    try:
        summary = run(args.env)
    except LocalDeployError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"local deploy of {args.env}: ok")
    for line in summary:
        print(f"  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
