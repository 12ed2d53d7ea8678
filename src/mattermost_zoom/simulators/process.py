"""The service as a real operating-system process (`python -m ... serve`), for the
tests and the benchmarks: started, waited for, killed, stopped."""

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
        self,
        env: dict[str, str],
        port: int,
        log_file: Path,
        args: Sequence[str] = (),
        *,
        module: str = "mattermost_zoom",
        cwd: Path | None = None,
    ) -> None:
        self._env = {**os.environ, **env}
        self.port = port
        self._log_file = log_file
        self._args = list(args)  # more arguments for serve, e.g. ["--config", path]
        self._module = module
        self._cwd = cwd
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def start(self, public_path: str = "/plugins/zoom", timeout: float = 60) -> ServiceProcess:
        """Start ``serve`` and wait until its health check answers 200."""
        with self._log_file.open("ab") as log:
            self._process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [
                    sys.executable,
                    "-m",
                    self._module,
                    "serve",
                    "--port",
                    str(self.port),
                    *self._args,
                ],
                env=self._env,
                cwd=self._cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"serve exited early:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}{public_path}/healthz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise TimeoutError(f"serve did not become healthy:\n{self.log()}")

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
