"""The service as Kubernetes runs it: a process configured by environment variables."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
START_TIMEOUT_SECONDS = 15.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _service_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "APPLICATIONINSIGHTS_CONNECTION_STRING"}
    env.update(PYTHONPATH=str(SRC), PYTHONDONTWRITEBYTECODE="1", **overrides)
    return env


def _start(**overrides: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "service"],
        env=_service_env(**overrides),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_until_ready(base_url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            if httpx2.get(f"{base_url}/readyz").status_code == 200:
                return
        except httpx2.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"service not ready within {START_TIMEOUT_SECONDS} s")


@pytest.fixture
def running_service() -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port = _free_port()
    process = _start(PORT=str(port), SERVICE_NAME="orders")
    try:
        base_url = f"http://127.0.0.1:{port}"
        _wait_until_ready(base_url, process)
        yield base_url, process
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()


def test_serves_on_port_from_environment(
    running_service: tuple[str, subprocess.Popen[str]],
) -> None:
    base_url, _ = running_service

    assert httpx2.get(f"{base_url}/api/v1/info").json()["service"] == "orders"


def test_sigterm_shuts_down_gracefully_with_json_logs(
    running_service: tuple[str, subprocess.Popen[str]],
) -> None:
    _, process = running_service

    process.send_signal(signal.SIGTERM)
    stdout, _ = process.communicate(timeout=START_TIMEOUT_SECONDS)

    assert process.returncode == 0
    messages = [json.loads(line)["message"] for line in stdout.splitlines()]
    assert "shutting down" in messages  # the lifespan shutdown ran: a drain, not a kill


def test_invalid_configuration_exits_with_a_json_error() -> None:
    process = _start(PORT="eighty")
    stdout, _ = process.communicate(timeout=START_TIMEOUT_SECONDS)

    assert process.returncode == 2
    entry = json.loads(stdout)
    assert entry["level"] == "ERROR"
    assert "PORT must be an integer" in entry["message"]
