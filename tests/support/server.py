"""A real `streamlit run app.py` on a free loopback port, with its own run store."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.support.paths import ROOT


def free_port() -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class AppServer:
    """`streamlit run app.py` on a free loopback port, serving the run store `runs_dir`.

    Use it as a context manager: healthy on entry, stopped on exit (also when it never got
    healthy). `env` adds variables to the server's environment; a value of None removes one.
    The server's output goes to `log_path`.
    """

    def __init__(
        self,
        runs_dir: Path,
        log_path: Path,
        env: dict[str, str | None] | None = None,
        health_timeout: float = 60,
    ):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.runs_dir = Path(runs_dir)
        self.log_path = Path(log_path)
        self.health_timeout = health_timeout
        environment = {**os.environ, "CLASSIFIER_RUNS_DIR": str(runs_dir)}
        for name, value in (env or {}).items():
            if value is None:
                environment.pop(name, None)
            else:
                environment[name] = value
        self.log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        command = [sys.executable, "-m", "streamlit", "run", "app.py"]
        command += ["--server.port", str(self.port), "--server.address", "127.0.0.1"]
        command += ["--server.headless", "true"]
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=environment, stdout=self.log, stderr=subprocess.STDOUT
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def __enter__(self) -> AppServer:
        try:
            self.wait_healthy(self.health_timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def wait_healthy(self, timeout: float = 60) -> None:
        """Return once /_stcore/health answers 200; fail if the server exits or is slower."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"streamlit exited with {self.process.returncode}: see {self.log_path}"
                )
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as reply:
                    if reply.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise TimeoutError(f"streamlit did not become healthy: see {self.log_path}")

    def stop(self) -> None:
        """Terminate the server (kill it if it does not stop within 15 s); idempotent."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if not self.log.closed:
            self.log.close()
