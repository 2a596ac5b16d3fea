"""Run train.py as a SageMaker training cluster on this machine: one process per host.

Each host is a folder laid out like its ``/opt/ml``: ``input/data/<channel>/`` (its shard of
``train``, the whole ``validation``), ``model/``, ``output/``, ``input/config/``. Hosts are named
by loopback addresses (127.0.0.1, 127.0.0.2, ...): they resolve without a DNS entry, as
SageMaker's ``algo-N`` names resolve inside a job, and XGBoost's tracker and communicator talk
over real sockets. The last host learns the cluster from ``resourceconfig.json`` (what SageMaker
writes), the others from ``SM_HOSTS``/``SM_CURRENT_HOST`` (what the container's toolkit sets).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]
SCRIPT = PROJECT_DIR / "training_scripts" / "train.py"


def loopback_hosts(count: int) -> tuple[str, ...]:
    return tuple(f"127.0.0.{index + 1}" for index in range(count))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def host_environment(root: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """What the toolkit gives train.py on one host, for a tree at ``root``."""
    data = root / "input" / "data"
    channels = {f"SM_CHANNEL_{c.name.upper()}": str(c) for c in sorted(data.iterdir()) if c.is_dir()} if data.is_dir() else {}
    return (
        dict(os.environ)
        | {"OMP_NUM_THREADS": "1"}
        | channels
        | {
            "SM_MODEL_DIR": str(root / "model"),
            "SM_OUTPUT_DATA_DIR": str(root / "output" / "data"),
            "SM_OUTPUT_DIR": str(root / "output"),
            "SM_INPUT_CONFIG_DIR": str(root / "input" / "config"),
        }
        | dict(extra or {})
    )


def listening(port: int) -> bool:
    """Whether something listens on ``port`` (IPv4), read from the kernel's table: connecting to
    find out would hand XGBoost's tracker a client that never says who it is."""
    table = Path("/proc/net/tcp")
    if not table.exists():
        return True  # not Linux: the hosts fall back on XGBoost's retries
    return any(f":{port:04X} " in line and line.split()[3] == "0A" for line in table.read_text().splitlines()[1:])


def run_cluster(roots: Sequence[Path], args: Sequence[str], *, timeout: float = 120) -> list[subprocess.CompletedProcess[str]]:
    """Start one train.py per host, as SageMaker starts the containers; wait for all.

    The first host starts first, and the others once its tracker listens: a host that asks too
    early waits out XGBoost's retry backoff (2 s, then 4 s, ...), which is slow, not wrong (the
    toolkit test, tests/test_distributed_training_stack.py, starts its hosts all at once).
    ``{root}`` in an argument is the host's own folder (e.g. ``--checkpoint-dir {root}/checkpoints``)."""
    hosts = loopback_hosts(len(roots))
    port = free_port()
    processes = []
    for index, (name, root) in enumerate(zip(hosts, roots, strict=True)):
        if index == 1:
            deadline = time.monotonic() + 30
            while not listening(port) and processes[0].poll() is None and time.monotonic() < deadline:
                time.sleep(0.02)
        if index == len(hosts) - 1:
            config = root / "input" / "config"
            config.mkdir(parents=True, exist_ok=True)
            (config / "resourceconfig.json").write_text(json.dumps({"current_host": name, "hosts": list(hosts)}))
            env = host_environment(root)
        else:
            env = host_environment(root, {"SM_HOSTS": json.dumps(list(hosts)), "SM_CURRENT_HOST": name})
        command = [sys.executable, str(SCRIPT), *(a.replace("{root}", str(root)) for a in args), "--tracker-port", str(port)]
        processes.append(subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    results = []
    for process in processes:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        finally:
            process.kill()
        results.append(subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr))
    return results
