"""The service as a real operating-system process: started, killed, restarted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import httpx


class ServiceProcess:
    def __init__(
        self, env: dict[str, str], port: int, log_file: Path, args: Sequence[str] = ()
    ) -> None:
        self._env = {**os.environ, **env}
        self._port = port
        self._log_file = log_file
        self._args = list(args)  # more arguments for serve, e.g. ["--config", path]
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    def start(self, public_path: str = "/plugins/zoom") -> ServiceProcess:
        log = self._log_file.open("ab")
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mattermost_zoom",
                "serve",
                "--port",
                str(self._port),
                *self._args,
            ],
            env=self._env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"serve exited early:\n{self._log_file.read_text()}")
            try:
                if httpx.get(f"{self.url}{public_path}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"serve did not become healthy:\n{self._log_file.read_text()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as when a machine dies."""
        assert self._process is not None
        self._process.send_signal(signal.SIGKILL)
        self._process.wait(timeout=10)

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def log(self) -> str:
        return self._log_file.read_text()
