"""The embedded tritonserver on loopback: readiness, verify over HTTP+gRPC, rollover, failures."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tritonclient.grpc")
pytest.importorskip("tritonclient.http")

from trt_pdk.errors import UserError
from trt_pdk.triton import server as srv
from trt_pdk.triton.demo_model import mlp_onnx, run_onnx
from trt_pdk.triton.repository import add_version_copy, repository_from_onnx
from trt_pdk.triton.verify import VerifyServing, verify_rollover

try:
    srv.find_triton()
except UserError as exc:  # pragma: no cover - depends on the install
    pytest.skip(f"no embedded Triton: {exc}", allow_module_level=True)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("serve")
    onnx_path = mlp_onnx(root / "mlp.onnx", hidden=128, layers=2)
    repository_from_onnx(onnx_path, root / "deploy", "mlp")
    return onnx_path, root / "deploy"


@pytest.fixture(scope="module")
def server(deployment, tmp_path_factory):
    _, deploy = deployment
    with srv.TritonServer(deploy, tmp_path_factory.mktemp("run")) as s:
        yield s


def test_server_is_ready_on_loopback_only(server):
    state = server.state
    assert srv.http_get(state.http_port, "/v2/models/mlp/ready") == 200
    log = Path(state.log).read_text()
    for port in (state.http_port, state.grpc_port, state.metrics_port):
        assert f"127.0.0.1:{port}" in log
    assert "0.0.0.0" not in log
    status = srv.server_status(server.run_dir)
    assert status["running"] and status["pid"] == state.pid
    assert [(m["name"], m["state"]) for m in status["models"]] == [("mlp", "READY")]


def test_verify_http_and_grpc_against_onnx_on_cpu(server, deployment):
    onnx_path, _ = deployment
    x = np.random.default_rng(1).standard_normal((3, 256)).astype(np.float32)
    result = VerifyServing(server.state, "mlp", {"x": x}, onnx_path)()
    assert result["passed"] is True
    assert result["protocols"] == ["http", "grpc"]
    assert result["max_abs_err"] < 1e-5
    wrong = {"y": run_onnx(onnx_path, {"x": x})["y"] + 0.5}
    failed = VerifyServing(server.state, "mlp", {"x": x}, wrong)()
    assert failed["passed"] is False
    assert failed["max_abs_err"] == pytest.approx(0.5, abs=1e-4)


def test_batched_requests_match_the_reference_row_by_row(server, deployment):
    """Concurrent requests get merged into one onnxruntime run and split back correctly."""
    import concurrent.futures

    import tritonclient.http as httpclient

    onnx_path, _ = deployment
    rows = [np.full((1, 256), k / 10, np.float32) for k in range(8)]

    def send(x):
        c = httpclient.InferenceServerClient(server.state.http_url)
        try:
            t = httpclient.InferInput("x", list(x.shape), "FP32")
            t.set_data_from_numpy(x)
            return c.infer("mlp", [t]).as_numpy("y")
        finally:
            c.close()

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        got = list(pool.map(send, rows))
    for x, y in zip(rows, got, strict=True):
        np.testing.assert_allclose(y, run_onnx(onnx_path, {"x": x})["y"], rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_version_rollover_under_load_fails_no_request(server):
    x = np.ones((1, 256), np.float32)
    result = verify_rollover(
        server.state,
        "mlp",
        {"x": x},
        lambda: add_version_copy(server.state.repository, "mlp"),
        max_seconds=30,
    )
    assert result["error"] is None
    assert result["to_version"] == 2
    assert result["failed"] == 0
    assert result["succeeded"] > 50
    assert result["passed"] is True
    index = srv.repository_index(server.state.http_port)
    assert [e["version"] for e in index if e.get("state") == "READY"] == ["2"]


def test_config_error_is_reported_before_any_server(tmp_path: Path):
    broken = tmp_path / "models" / "bad"
    (broken / "1").mkdir(parents=True)
    (broken / "1" / "model.py").write_text("")
    (broken / "config.pbtxt").write_text('name: "bad"\nbackend: "python"\nmax_batch_size: eight\n')
    with pytest.raises(UserError, match=r"config.pbtxt:3:17: .*eight"):
        srv.TritonServer(tmp_path, tmp_path / "run").start()
    assert not (tmp_path / "run" / srv.LOG_FILE).exists()


def test_missing_repository(tmp_path: Path):
    with pytest.raises(UserError, match=r"does not exist\. Write one with `trt-pdk triton repo"):
        srv.TritonServer(tmp_path / "nowhere", tmp_path / "run").start()


def test_port_in_use(deployment, tmp_path: Path):
    _, deploy = deployment
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(UserError, match=f"http port {port} on 127.0.0.1 is in use"):
            srv.TritonServer(deploy, tmp_path / "run", http_port=port).start()


def test_a_run_dir_held_by_another_process_is_refused_naming_it(deployment, tmp_path: Path):
    """Two starters on one run folder: the second is refused with the holder's PID, and a
    lock whose holder died is taken over."""
    import subprocess
    import sys

    _, deploy = deployment
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    hold = (
        "import fcntl, os, sys, time\n"
        f"fd = os.open({str(run_dir / srv.LOCK_FILE)!r}, os.O_RDWR | os.O_CREAT)\n"
        "fcntl.flock(fd, fcntl.LOCK_EX)\n"
        "os.write(fd, str(os.getpid()).encode())\n"
        "print('held', flush=True)\n"
        "time.sleep(60)\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", hold], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(UserError, match=f"another trt-pdk process \\(PID {holder.pid}\\)"):
            srv.TritonServer(deploy, run_dir).start()
    finally:
        holder.kill()
        holder.communicate()
    with srv.TritonServer(deploy, run_dir) as server:  # the dead holder's lock is free again
        assert srv.pid_alive(server.state.pid)
    assert not list(Path("/dev/shm").glob(srv.shm_prefix(run_dir) + "*"))


def test_missing_backend_quotes_the_log(tmp_path: Path):
    model = tmp_path / "models" / "ort"
    (model / "1").mkdir(parents=True)
    (model / "1" / "model.onnx").write_bytes(b"")
    (model / "config.pbtxt").write_text(
        'name: "ort"\nbackend: "onnxruntime"\nmax_batch_size: 0\n'
        'input { name: "x" data_type: TYPE_FP32 dims: 4 }\n'
        'output { name: "y" data_type: TYPE_FP32 dims: 4 }\n'
    )
    with pytest.raises(UserError) as info:
        srv.TritonServer(tmp_path, tmp_path / "run", ready_timeout=30).start()
    message = str(info.value)
    assert "unable to find backend library for backend 'onnxruntime'" in message
    assert "NGC container" in message
    assert not (tmp_path / "run" / srv.STATE_FILE).exists()


@pytest.mark.slow
def test_cli_serve_detached_status_stop(deployment, tmp_path: Path):
    _, deploy = deployment
    run = tmp_path / "run"
    cli = [sys.executable, "-m", "trt_pdk"]
    out = subprocess.run(
        [*cli, "triton", "serve", "--repository", str(deploy), "--run-dir", str(run), "--detach"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    state = json.loads(out.stdout)
    pid = state["pid"]
    try:
        assert srv.pid_alive(pid)
        status = subprocess.run(
            [*cli, "triton", "status", "--run-dir", str(run)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert status.returncode == 0
        assert json.loads(status.stdout)["models"][0]["state"] == "READY"
        again = subprocess.run(
            [*cli, "triton", "serve", "--repository", str(deploy), "--run-dir", str(run), "--detach"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert again.returncode == 2 and f"already runs from {run}" in again.stderr
        stop = subprocess.run(
            [*cli, "triton", "stop", "--run-dir", str(run)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert json.loads(stop.stdout) == {"stopped": True, "pid": pid}
        assert not srv.pid_alive(pid)
        assert not (run / srv.STATE_FILE).exists()
    finally:
        if srv.pid_alive(pid):
            os.kill(pid, signal.SIGKILL)


def test_attached_server_dies_with_its_parent(deployment, tmp_path: Path):
    """PR_SET_DEATHSIG: a killed parent leaves no orphan tritonserver behind."""
    _, deploy = deployment
    script = (
        "import sys, time\nfrom trt_pdk.triton.server import TritonServer\n"
        f"s = TritonServer({str(deploy)!r}, {str(tmp_path / 'run')!r})\n"
        "st = s.start()\nprint(st.pid, flush=True)\ntime.sleep(60)\n"
    )
    with subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True) as parent:
        try:
            pid = int(parent.stdout.readline())
            assert srv.pid_alive(pid)
        finally:
            parent.kill()
            parent.wait(timeout=30)
    deadline = time.monotonic() + 10
    while srv.pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not srv.pid_alive(pid)
