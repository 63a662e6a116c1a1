"""The main job end to end on the demo (once), then resuming and failing against that run."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("tritonclient.grpc")

from trt_pdk.cli import main
from trt_pdk.errors import UserError
from trt_pdk.triton import server as srv

try:
    srv.find_triton()
except UserError as exc:  # pragma: no cover - depends on the install
    pytest.skip(f"no embedded Triton: {exc}", allow_module_level=True)

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
# The demo with a short perf (8 clients, one instance, one batcher delay) to keep CI time small.
CONFIG = f"""
name: demo-test
model:
  factory: {ROOT / "pipeline" / "demo_model.py"}:factory
  dynamic: ["x:0=batch", "x:1=seq"]
traffic: {ROOT / "pipeline" / "demo_traffic.jsonl"}
compare:
  dims: {{batch: [1, 2], seq: [1, 16]}}
perf:
  concurrency: [8]
  target_concurrency: 8
  duration: @DURATION@
  warmup: 0.2
  instance_counts: []
  preferred_batch_sizes: []
  max_queue_delays_us: [100]
serve:
  http_port: @PORT@
deploy:
  bundle_sources: false
"""


def _config(folder: Path, duration: float = 0.6, http_port: int = 0) -> Path:
    path = folder / "pipeline.yaml"
    path.write_text(CONFIG.replace("@DURATION@", str(duration)).replace("@PORT@", str(http_port)))
    return path


def _run(config: Path, run_dir: Path, capsys) -> tuple[int, list[str], str]:
    code = main(["pipeline", "run", str(config), "--run-dir", str(run_dir)])
    out = capsys.readouterr()
    return code, out.out.strip().splitlines(), out.err


@pytest.fixture(scope="module")
def first(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pipeline")
    return folder, folder / "runs" / "demo"


def _state(run_dir: Path) -> dict:
    return json.loads((run_dir / "state.json").read_text())["stages"]


def test_demo_runs_end_to_end_with_a_measured_report(first, capsys):
    folder, run_dir = first
    code, lines, err = _run(_config(folder), run_dir, capsys)
    assert code == 0, err
    assert lines[-1] == str(run_dir)
    report = json.loads((run_dir / "report.json").read_text())
    stages = report["stages"]
    assert list(stages) == [
        "export", "check", "simplify", "rewrite", "compare", "profiles", "engine",
        "repository", "serve", "verify", "perf", "deploy", "report",
    ]  # fmt: skip
    for name, s in stages.items():
        assert s["seconds"] >= 0
        if name != "engine":
            assert s["status"] == "ok", (name, s)
    engine = stages["engine"]
    assert engine["status"] == "skipped" and "TensorRT absent" in engine["reason"]
    assert "trtexec --onnx=model.onnx" in engine["reason"]
    assert (run_dir / "engine" / "model.onnx").is_file()
    verify = report["verify"]
    assert verify["passed"] is True and verify["protocols"] == ["http", "grpc"]
    assert verify["max_abs_err"] <= 1e-4
    perf = report["perf"]
    for name in ("baseline", "tuned"):
        row = perf[name]
        assert set(row) >= {"config", "dynamic_batching", "concurrency", "throughput_rps", "p50_ms", "p95_ms",
                            "p99_ms", "failed", "distinct_shapes", "avg_batch"}  # fmt: skip
        assert row["concurrency"] == 8 and row["failed"] == 0 and row["throughput_rps"] > 0
        assert 0 < row["p50_ms"] <= row["p95_ms"] <= row["p99_ms"]
        # The whole log was replayed: every one of its shapes was sent.
        assert row["distinct_shapes"] == 39
    assert perf["baseline"]["dynamic_batching"] is False and perf["baseline"]["avg_batch"] == 1.0
    assert [b["name"][:9] for b in perf["bands"]] == ["profile 0", "profile 1"]
    assert sum(b["share"] for b in perf["bands"]) == pytest.approx(1.0)
    for band in perf["bands"]:
        for side in ("baseline", "tuned"):
            assert band[side]["throughput_rps"] > 0 and band[side]["p99_ms"] > 0
    assert perf["candidates"][0]["config"] == perf["baseline"]["config"]
    assert perf["bucketing"]["enabled"] is True and perf["bucketing"]["axes"][0]["axis"] == 1
    # The winner's model config, as Triton reads it: ragged inputs exactly when bucketing won.
    from trt_pdk.triton.config import load_config

    tuned_cfg = load_config(run_dir / "perf" / "tuned_config.pbtxt")
    assert (run_dir / "repository" / "deploy" / "models" / tuned_cfg.name / "config.pbtxt").is_file()
    assert tuned_cfg.instance_group[0].count == perf["tuned"]["instance_count"]
    assert tuned_cfg.HasField("dynamic_batching") == perf["tuned"]["dynamic_batching"]
    assert any(t.allow_ragged_batch for t in tuned_cfg.input) == perf["tuned"]["bucketing"]
    assert report["stages"]["perf"]["seconds"] < 120
    assert report["versions"]["onnx"] and "RMSNorm" in report["versions"]["plugins"]
    aspects = {r["aspect"]: r for r in report["before_after"]}
    assert list(aspects) == [
        "export reliability",
        "input handling",
        "runtime consistency",
        "serving efficiency",
    ]
    assert "RMSNorm x1" in aspects["export reliability"]["after"]
    assert "0 unsupported" in aspects["export reliability"]["after"]
    for plot in report["plots"]:
        assert (run_dir / plot).stat().st_size > 0
    assert "| export reliability |" in (run_dir / "report.md").read_text()
    assert "data:image/png;base64," in (run_dir / "report.html").read_text()
    assert "[11/13] perf" in err and "[13/13] report" in err
    _check_deployment(run_dir, report)
    # The temporary sibling was swapped in; only the (free) lock file stays beside the run folder.
    assert [p.name for p in run_dir.parent.glob(".demo.*")] == [".demo.lock"]


def _check_deployment(run_dir: Path, report: dict) -> None:
    """deploy/ beside the CPU run: a tensorrt_plan config Triton's protobuf parses, trtexec lines in the
    Dockerfile, manifests kubernetes-validate accepts, and versions that agree with the lock."""
    import yaml
    from google.protobuf import text_format
    from tritonclient.grpc import model_config_pb2

    deploy = run_dir / "deploy"
    assert report["stages"]["deploy"]["status"] == "ok"
    [config] = (deploy / "models").glob("*/config.pbtxt")
    cfg = text_format.Parse(config.read_text(), model_config_pb2.ModelConfig())
    assert cfg.platform == "tensorrt_plan" and cfg.max_batch_size > 0
    from trt_pdk.profiles import load_profiles

    profiles = len(load_profiles(run_dir / "profiles" / "profiles.json"))
    assert [list(g.profile) for g in cfg.instance_group] == (
        [[str(k)] for k in range(profiles)] if profiles > 1 else [[]]
    )
    assert "trtexec" in (deploy / "Dockerfile").read_text()
    assert report["deploy"]["plans_in_image"] and "## Deployment" in (run_dir / "report.md").read_text()
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    for doc in yaml.safe_load_all((deploy / "k8s" / "triton.yaml").read_text()):
        kubernetes_validate.validate(doc, kubernetes_validate.latest_version(), strict=True)
    assert main(["doctor", "--against", str(deploy)]) == 0


def test_second_run_redoes_nothing(first, capsys):
    folder, run_dir = first
    before = _state(run_dir)
    code, lines, err = _run(_config(folder), run_dir, capsys)
    assert code == 0, err
    after = _state(run_dir)
    assert all(rec.get("reused") for rec in after.values()), {n: r.get("reused") for n, r in after.items()}
    assert {n: r["result"] for n, r in after.items()} == {n: r["result"] for n, r in before.items()}
    assert lines[-1] == str(run_dir)


def test_changing_one_option_redoes_that_stage_and_later_ones(first, capsys):
    folder, run_dir = first
    code, _, err = _run(_config(folder, duration=0.5), run_dir, capsys)
    assert code == 0, err
    redone = [n for n, rec in _state(run_dir).items() if not rec.get("reused")]
    # perf reran; the server (a process, not a file) had to start again for it; the deployment
    # takes its batching from perf, so it follows.
    assert redone == ["serve", "perf", "deploy"]


def test_failure_keeps_the_last_good_run_intact(first, capsys):
    folder, run_dir = first
    good = (run_dir / "report.json").read_bytes()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, _, err = _run(_config(folder, http_port=port), run_dir, capsys)
    assert code == 2
    assert f"port {port}" in err and "in use" in err and "Traceback" not in err
    assert "last good run" in err
    assert (run_dir / "report.json").read_bytes() == good
    failed = json.loads((run_dir.with_name("demo.failed") / "report.json").read_text())
    assert failed["stages"]["serve"]["status"] == "failed"
    assert "perf" not in failed["stages"]


def test_server_dying_during_perf_is_a_clear_error(first, capsys, monkeypatch):
    import os
    import signal

    from trt_pdk.triton import replay

    folder, run_dir = first
    good = (run_dir / "report.json").read_bytes()
    original = replay.replay_closed

    def kill_then_measure(target, *args, **kwargs):
        os.kill(target.server_pid, signal.SIGKILL)
        return original(target, *args, **kwargs)

    monkeypatch.setattr(replay, "replay_closed", kill_then_measure)
    code, _, err = _run(_config(folder, duration=0.45), run_dir, capsys)
    assert code == 2
    assert "died during perf" in err and "Traceback" not in err
    assert (run_dir / "report.json").read_bytes() == good


def _stubs_under(folder: Path) -> list[int]:
    """PIDs of python-backend stubs started from `folder`."""
    prefix = str(folder.resolve()).encode()
    found = []
    for proc in Path("/proc").iterdir():
        try:
            argv0 = (proc / "cmdline").read_bytes().split(b"\0", 1)[0]
        except OSError:
            continue
        if proc.name.isdigit() and argv0.startswith(prefix) and argv0.endswith(b"triton_python_backend_stub"):
            found.append(int(proc.name))
    return found


def _start_until_perf(config: Path, run_dir: Path):
    """A `pipeline run` in its own process group, returned while its perf stage runs."""
    import os
    import subprocess
    import sys
    import time

    proc = subprocess.Popen(
        [sys.executable, "-m", "trt_pdk", "pipeline", "run", str(config), "--run-dir", str(run_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    progress = b""
    deadline = time.monotonic() + 120
    while b"] perf" not in progress:  # the progress line is written when the stage starts
        assert time.monotonic() < deadline, f"the run never reached perf: {progress.decode()}"
        chunk = os.read(proc.stderr.fileno(), 4096)
        assert chunk, f"the run ended before perf: {progress.decode()}"
        progress += chunk
    time.sleep(0.3)  # perf measures for >= 1.5 s (two levels of 0.2 s warm-up + 0.55 s)
    return proc, progress


def test_ctrl_c_during_perf_says_interrupted_and_stops_the_server(first):
    """Ctrl-C reaches the process group: trt-pdk reports "interrupted" (not a dead server),
    exits 130, stops the server, and leaves no temp folder or stub behind."""
    import os
    import signal

    folder, run_dir = first
    good = (run_dir / "report.json").read_bytes()
    proc, progress = _start_until_perf(_config(folder, duration=0.55), run_dir)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    err = (progress + err).decode()
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Triton could not" not in err and "Traceback" not in err
    assert [p.name for p in run_dir.parent.glob(".demo.*")] == [".demo.lock"]
    assert _stubs_under(run_dir.parent) == []
    assert (run_dir / "report.json").read_bytes() == good
    assert _state(run_dir.with_name("demo.failed"))["serve"]["status"] == "ok"


def test_sigkill_during_perf_leaves_nothing_after_the_next_run(first, capsys):
    """A SIGKILLed run leaves its temp folder, orphaned stubs and their shared memory; the next run
    on the folder removes all three, and reuses every stage the killed run had finished."""
    import os
    import signal

    folder, run_dir = first
    config = _config(folder, duration=0.55)  # perf (and so serve) must run again
    proc, _ = _start_until_perf(config, run_dir)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    (left,) = [p for p in run_dir.parent.glob(".demo.*") if p.is_dir()]
    regions = list(Path("/dev/shm").glob(srv.shm_prefix(left / "serve") + "*"))
    assert regions, "the killed server's stubs held no shared memory under the run's prefix"
    code, _, err = _run(config, run_dir, capsys)
    assert code == 0, err
    assert [p.name for p in run_dir.parent.glob(".demo.*")] == [".demo.lock"]
    assert _stubs_under(left) == []
    assert not [r for r in regions if r.exists()]
    reused = [n for n, rec in _state(run_dir).items() if rec.get("reused")]
    assert reused == [
        "export",
        "check",
        "simplify",
        "rewrite",
        "compare",
        "profiles",
        "engine",
        "repository",
        "verify",
    ]
    assert _state(run_dir)["perf"]["status"] == "ok"
