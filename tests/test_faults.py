"""Faults around the embedded server (outside the pipeline runner): a port taken, two servers
on one run folder, a server killed with SIGKILL, SIGTERM/SIGINT to a foreground `triton serve`.

Each ends with one paragraph and exit 2 where the user must act, nothing left running
(no tritonserver, no python-backend stub), no stale state file, and a rerun that works.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("tritonclient.http")

from trt_pdk.cli import main
from trt_pdk.errors import UserError
from trt_pdk.triton import server as srv
from trt_pdk.triton.demo_model import mlp_onnx
from trt_pdk.triton.repository import repository_from_onnx

try:
    srv.find_triton()
except UserError as exc:  # pragma: no cover - depends on the install
    pytest.skip(f"no embedded Triton: {exc}", allow_module_level=True)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("faults")
    repository_from_onnx(mlp_onnx(root / "mlp.onnx", hidden=32, layers=1), root / "deploy", "mlp")
    return root / "deploy"


def _processes_mentioning(text: str) -> list[int]:
    """PIDs whose command line mentions `text` (a run folder: tritonserver and its stubs)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            cmdline = (entry / "cmdline").read_bytes()
            stat = (entry / "stat").read_text()
            if text.encode() in cmdline and stat.rsplit(")", 1)[-1].split()[0] != "Z":
                pids.append(int(entry.name))
    return pids


def _wait_gone(pid: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and srv.pid_alive(pid):
        time.sleep(0.1)
    assert not srv.pid_alive(pid), f"PID {pid} still runs"


def _one_paragraph(err: str) -> None:
    assert "Traceback" not in err and err.strip() and "\n\n" not in err.strip(), err


def test_a_taken_port_is_one_paragraph_and_starts_nothing(deployment, tmp_path, capsys):
    run = tmp_path / "run"
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        argv = ["triton", "serve", "--repository", str(deployment), "--run-dir", str(run)]
        code = main([*argv, "--http-port", str(port), "--detach"])
    err = capsys.readouterr().err
    assert code == 2
    _one_paragraph(err)
    assert f"port {port}" in err and "in use" in err
    assert not (run / srv.STATE_FILE).exists()
    assert _processes_mentioning(str(run)) == []


def test_two_servers_one_run_folder_then_sigkill_then_rerun(deployment, tmp_path, capsys, cli):
    run = tmp_path / "run"
    serve = ["triton", "serve", "--repository", str(deployment), "--run-dir", str(run), "--detach"]
    started = cli(*serve)  # a detached server outlives its command: run that in its own process
    assert started.returncode == 0, started.stderr.decode()
    first = json.loads(started.stdout)["pid"]
    second = None
    try:
        assert main(serve) == 2  # a second server on the same folder is refused, naming the holder
        err = capsys.readouterr().err
        _one_paragraph(err)
        assert f"PID {first}" in err and "triton stop" in err

        os.kill(first, signal.SIGKILL)  # the server dies without cleaning up
        _wait_gone(first)
        assert main(["triton", "status", "--run-dir", str(run)]) == 1
        assert json.loads(capsys.readouterr().out)["running"] is False

        restarted = cli(*serve)  # the dead server's state is taken over
        assert restarted.returncode == 0, restarted.stderr.decode()
        second = json.loads(restarted.stdout)["pid"]
        assert second != first
    finally:
        main(["triton", "stop", "--run-dir", str(run)])
    stopped = json.loads(capsys.readouterr().out)
    assert stopped == {"stopped": True, "pid": second}
    _wait_gone(second)
    assert not (run / srv.STATE_FILE).exists()
    deadline = time.monotonic() + 10
    while _processes_mentioning(str(run)) and time.monotonic() < deadline:
        time.sleep(0.2)  # python-backend stubs exit after their server
    assert _processes_mentioning(str(run)) == []


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_to_a_foreground_serve_stops_everything(sig, deployment, tmp_path):
    run = tmp_path / "run"
    argv = [sys.executable, "-m", "trt_pdk", "triton", "serve", "--repository", str(deployment)]
    with (tmp_path / "stderr.txt").open("wb") as stderr:
        proc = subprocess.Popen(
            [*argv, "--run-dir", str(run)],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,  # SIGINT goes to the whole group, as Ctrl-C does
        )
        try:
            deadline = time.monotonic() + 60
            while not (run / srv.STATE_FILE).exists() and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.1)
            state = srv.read_state(run)
            assert state is not None and srv.pid_alive(state.pid), (tmp_path / "stderr.txt").read_text()
            if sig == signal.SIGINT:
                os.killpg(proc.pid, sig)
            else:
                proc.send_signal(sig)
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    err = (tmp_path / "stderr.txt").read_text()
    assert proc.returncode == 0 and "Traceback" not in err, err
    _wait_gone(state.pid)
    assert not (run / srv.STATE_FILE).exists()
    deadline = time.monotonic() + 10
    while _processes_mentioning(str(run)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _processes_mentioning(str(run)) == []
