"""Record a small run directory from a real run, for the reports tests' committed test data.

Starts the reference service (SQLite, rate limiting off) on a free loopback port and points
`loadcap run --host` at it, which writes the whole run directory (Locust CSVs, hdr.json,
metrics/, run.json). Bounded: a few seconds of load, to 127.0.0.1 only.

    python -m tests.reports.record_run OUT [--step | --plain | --rps R] [--seconds S] [--users N]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.fixtures.ports import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]


def _service(port: int, db: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "LOADCAP_DB_URL": f"sqlite:///{db}",
        "LOADCAP_RATE_LIMIT": "off",
        "LOADCAP_LOG_LEVEL": "warning",
    }
    command = [sys.executable, "-m", "target_service.server", "--port", str(port), "--seed", "1000"]
    return subprocess.Popen(command, cwd=ROOT, env=env)


def _loadcap_run(host: str, out: Path, args: argparse.Namespace) -> list[str]:
    command = [
        sys.executable,
        "-c",
        "from cli import main; main()",
        "run",
        "--host",
        host,
        "--out",
        str(out),
        "--users",
        str(args.users),
        "--spawn-rate",
        str(args.users),
        "--duration",
        f"{args.seconds:g}s",
    ]
    if args.rps:
        return [*command, "--rps", f"{args.rps:g}"]
    return [*command, "--shape", "step"] if args.step else command


def _plain_locust(host: str, out: Path, args: argparse.Namespace) -> list[str]:
    """Plain Locust, no loadcap: only Locust's CSVs (no run.json, hdr.json or metrics/)."""
    out.mkdir(parents=True, exist_ok=True)
    return [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(ROOT / "loadtests" / "locustfile.py"),
        "--headless",
        "-H",
        host,
        "-u",
        str(args.users),
        "-r",
        str(args.users),
        "-t",
        f"{args.seconds:g}s",
        "--csv",
        str(out / "locust"),
        "--csv-full-history",
        "--only-summary",
    ]


def record(out: Path, args: argparse.Namespace) -> int:
    """`loadcap run --host` against a service started here; returns its exit code."""
    port = free_port()
    host = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as scratch:
        service = _service(port, Path(scratch) / "profiles.db")
        try:
            wait_for_port(port)
            command = _plain_locust if args.plain else _loadcap_run
            return subprocess.run(
                command(host, out, args), cwd=ROOT, timeout=args.seconds + 120, check=False
            ).returncode
        finally:
            service.terminate()
            service.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--step", action="store_true")
    parser.add_argument("--plain", action="store_true", help="plain Locust, not loadcap run")
    parser.add_argument("--rps", type=float, default=0, help="open model at this rate")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--users", type=int, default=5)
    args = parser.parse_args()
    sys.exit(record(args.out, args))


if __name__ == "__main__":
    main()
