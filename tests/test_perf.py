"""Load generator, traffic replay, bucketing ensemble and perf command against the real embedded Triton."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tritonclient.grpc.aio")
pytest.importorskip("tritonclient.http.aio")

from trt_pdk.errors import UserError
from trt_pdk.triton import server as srv
from trt_pdk.triton.demo_model import mlp_onnx
from trt_pdk.triton.loadgen import Target, closed_loop, open_loop
from trt_pdk.triton.repository import repository_from_onnx

try:
    srv.find_triton()
except UserError as exc:  # pragma: no cover - depends on the install
    pytest.skip(f"no embedded Triton: {exc}", allow_module_level=True)

RESULT_KEYS = {"throughput_rps", "p50_ms", "p95_ms", "p99_ms", "max_ms", "failed", "client_cpu_pct"}


@pytest.fixture(scope="module")
def deploy(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("perf")
    # Weight-bound MLP (about 25 MB of weights, near this L3 size): batching amortizes the weight reads.
    repository_from_onnx(mlp_onnx(root / "mlp.onnx"), root / "deploy", "mlp")
    return root / "deploy"


@pytest.fixture(scope="module")
def server(deploy, tmp_path_factory):
    with srv.TritonServer(deploy, tmp_path_factory.mktemp("run")) as s:
        yield s


def _target(state, protocol="grpc") -> Target:
    x = np.random.default_rng(0).standard_normal((1, 256)).astype(np.float32)
    return Target("mlp", {"x": x}, state.http_url, state.grpc_url, state.metrics_url, state.pid, protocol)


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_closed_loop_numbers_agree_with_the_server(server, protocol):
    r = closed_loop(_target(server.state, protocol), concurrency=4, duration=1.0, warmup=0.3)
    assert r.keys() >= RESULT_KEYS
    assert r["failed"] == 0 and r["succeeded"] > 50
    assert r["throughput_rps"] == pytest.approx(r["succeeded"] / r["duration_s"], rel=1e-3)
    assert 0 < r["p50_ms"] <= r["p95_ms"] <= r["p99_ms"] <= r["max_ms"]
    # The server's counters over the same window see (about) the same requests.
    assert r["server_requests"] == pytest.approx(r["succeeded"], abs=8)
    assert r["server_compute_us_avg"] > 0 and r["server_queue_us_avg"] >= 0
    assert r["server_cpu_pct"] > 0 and r["client_cpu_pct"] > 0


def test_open_loop_holds_its_rate(server):
    r = open_loop(_target(server.state), rate=200, duration=1.5, warmup=0.3)
    assert r["mode"] == "open" and r["failed"] == 0
    # Poisson arrivals: 300 expected in 1.5 s; 5 sigma is about +-87.
    assert r["succeeded"] in range(200, 401)
    assert r["p99_ms"] < 1000


def test_variants_change_one_variable():
    from trt_pdk.triton import config as tc
    from trt_pdk.triton.perf import _describe, _variant

    cfg = tc.parse_config('name: "m"\nmax_batch_size: 8\ninstance_group [{ count: 1 kind: KIND_CPU }]\n')
    on = _variant(cfg, dynamic_batching=True)
    assert _describe(on)["dynamic_batching"] and _describe(on)["max_queue_delay_us"] == 100
    slow = _variant(on, max_queue_delay_us=500)
    assert {k: v for k, v in _describe(slow).items() if k != "max_queue_delay_us"} == {
        k: v for k, v in _describe(on).items() if k != "max_queue_delay_us"
    }
    assert _describe(slow)["max_queue_delay_us"] == 500
    assert not _describe(_variant(on, dynamic_batching=False))["dynamic_batching"]


def test_server_dying_during_perf_is_one_clear_error(deploy, tmp_path: Path):
    with srv.TritonServer(deploy, tmp_path / "run") as s:
        target = _target(s.state)
        killer = threading.Timer(1.0, os.kill, (s.state.pid, signal.SIGKILL))
        killer.start()
        t0 = time.monotonic()
        try:
            with pytest.raises(UserError, match=rf"PID {s.state.pid}\) died during the measurement"):
                closed_loop(target, concurrency=4, duration=2.0, warmup=0.2)
        finally:
            killer.cancel()
        assert time.monotonic() - t0 < 10
    # Leaving the block reaps the python-backend stub the killed server could not stop.
    stub = str((tmp_path / "run").resolve() / "backends" / "python" / "triton_python_backend_stub")
    for _ in range(50):
        if not any(p.name.isdigit() and _argv0(p) == stub for p in Path("/proc").iterdir()):
            break
        time.sleep(0.1)
    else:
        raise AssertionError(f"a stub of the killed server is still running ({stub})")


def _argv0(proc: Path) -> str:
    try:
        return (proc / "cmdline").read_bytes().split(b"\0", 1)[0].decode()
    except OSError:
        return ""


# --------------------------------------------------------------------------- replay and bucketing


WIDTH = 128
LOG = [(1, 1, 30), (1, 2, 12), (2, 1, 8), (1, 3, 5), (1, 7, 3), (4, 16, 2), (1, 24, 1)]  # (batch, seq, count)


def _write_log(path: Path, stamps: bool = False) -> Path:
    rows = []
    for i, (b, s, c) in enumerate(LOG):
        row = {"x": [b, s, WIDTH], "count": c}
        if stamps:
            row["timestamp"] = 100.0 + 0.1 * i
        rows.append(json.dumps(row))
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture(scope="module")
def seq(tmp_path_factory):
    """A per-token FFN served with its bucketing ensemble, and the traffic it was planned from."""
    from trt_pdk.profiles import load_traffic, profiles_from_traffic
    from trt_pdk.triton import bucketing as bk
    from trt_pdk.triton.config import BatchingOptions
    from trt_pdk.triton.demo_model import token_mlp_onnx

    root = tmp_path_factory.mktemp("seq")
    onnx_path = token_mlp_onnx(root / "ffn.onnx", WIDTH, hidden=512)
    repository_from_onnx(onnx_path, root / "deploy", "ffn", batching=BatchingOptions(max_batch_size=16))
    log = _write_log(root / "traffic.jsonl")
    traffic = load_traffic(log)
    profiles = profiles_from_traffic(traffic, 2).profiles
    # Fixed edges (the planner's choice depends on timings): seq 1, 3 and 7 are padded.
    edges = [2, 4, 16, 24]
    check = bk.check_padding(onnx_path, traffic, "x", 1, edges)
    assert check.safe, check.reason
    plan = bk.BucketPlan(
        "ffn", [{"input": "x", "axis": 1, "edges": edges, "tied": [], "outputs": check.outputs}]
    )
    names = bk.write_bucketing(root / "deploy", "ffn", plan)
    with srv.TritonServer(root / "deploy", tmp_path_factory.mktemp("seqrun"), models=names) as s:
        yield {"server": s, "onnx": onnx_path, "log": log, "profiles": profiles, "plan": plan, "root": root}


def _seq_target(state, model: str) -> Target:
    return Target(model, {}, state.http_url, state.grpc_url, state.metrics_url, state.pid, "grpc")


def test_replay_sends_exactly_the_logs_shape_mix(seq):
    from trt_pdk.triton.replay import replay_closed, replay_traffic

    traffic = replay_traffic(seq["log"], seq["profiles"])
    assert traffic.requests == sum(c for _, _, c in LOG) and len(traffic.shapes) == len(LOG)
    r = replay_closed(
        _seq_target(seq["server"].state, "ffn"), traffic, {"x": np.float32}, concurrency=4, duration=0.3
    )
    assert r["failed"] == 0 and r["passes"] >= 1
    # Whole passes only: the shapes sent in the window are the log's counts times the passes.
    expected = {f"x:{b}x{s}x{WIDTH}": c * r["passes"] for b, s, c in LOG}
    assert r["histogram"] == expected
    assert r["distinct_shapes"] == len(LOG)
    assert [b["name"] for b in r["bands"]] == [b.name for b in traffic.bands]
    assert sum(b["succeeded"] for b in r["bands"]) == r["succeeded"]
    # The server's own counters saw the same requests.
    # The snapshots bracket the window; at each edge at most 4 requests (the clients) are in flight.
    assert r["server"]["ffn"]["requests"] == pytest.approx(r["succeeded"], abs=2 * 4)


def test_bucketing_in_triton_changes_no_unpadded_output(seq):
    import tritonclient.http as httpclient

    from trt_pdk.triton.demo_model import run_onnx

    state = seq["server"].state
    edges = seq["plan"].axes[0]["edges"]
    client = httpclient.InferenceServerClient(state.http_url)
    rng = np.random.default_rng(3)
    padded_some = False
    try:
        for b, s, _ in LOG:
            x = rng.standard_normal((b, s, WIDTH)).astype(np.float32)
            padded_some |= s not in edges
            want = run_onnx(seq["onnx"], {"x": x})["y"]
            inp = httpclient.InferInput("x", list(x.shape), "FP32")
            inp.set_data_from_numpy(x)
            got = client.infer("ffn_bucketed", [inp]).as_numpy("y")
            assert got.shape == want.shape
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    finally:
        client.close()
    assert padded_some, f"no logged seq length falls between the edges {edges}: nothing was padded"


def test_the_server_batches_the_replayed_mix(seq):
    from trt_pdk.triton import config as tc
    from trt_pdk.triton.perf import _point_config
    from trt_pdk.triton.replay import replay_closed, replay_traffic
    from trt_pdk.triton.repository import validate_repository

    state = seq["server"].state
    cfg = validate_repository(seq["root"] / "deploy", ["ffn"])[0].config
    point = {"instance_count": 1, "max_queue_delay_us": 2000, "preferred_batch_sizes": [], "bucketing": True}
    srv.load_model(state, "ffn", tc.config_to_json(_point_config(cfg, point)))
    try:
        traffic = replay_traffic(seq["log"], seq["profiles"])
        r = replay_closed(
            _seq_target(state, "ffn_bucketed"), traffic, {"x": np.float32}, concurrency=16, duration=0.5
        )
    finally:
        srv.load_model(state, "ffn")
    assert r["failed"] == 0
    ffn = r["server"]["ffn"]
    # The snapshots bracket the window; at each edge at most 16 requests (the clients) are in flight.
    assert ffn["requests"] == pytest.approx(r["succeeded"], abs=2 * 16)
    # Requests of one bucket merged: fewer model executions than requests.
    assert ffn["avg_batch"] > 1.0, ffn


def _in_model_plan(seq) -> dict:
    from trt_pdk.triton import bucketing as bk

    plan = seq["plan"]
    return {**plan.to_json(), "mode": bk.IN_MODEL, "ragged_inputs": ["x"]}


def test_the_kits_model_buckets_ragged_batches_itself_and_changes_no_unpadded_output(seq):
    """Every logged shape at once, in one queue: the batcher hands the model ragged batches."""
    from concurrent.futures import ThreadPoolExecutor

    import tritonclient.http as httpclient

    from trt_pdk.triton import config as tc
    from trt_pdk.triton.bucketing import serving_config
    from trt_pdk.triton.demo_model import run_onnx
    from trt_pdk.triton.loadgen import scrape_metrics
    from trt_pdk.triton.perf import _point_config, buckets_in_model
    from trt_pdk.triton.repository import validate_repository

    state = seq["server"].state
    entry = validate_repository(seq["root"] / "deploy", ["ffn"])[0]
    assert buckets_in_model(entry)
    # A long queue delay lets requests of every shape pile up into shared executions; the
    # model runs them on two onnxruntime threads (a point of the search's threads dimension).
    point = {"instance_count": 1, "max_queue_delay_us": 50_000, "preferred_batch_sizes": [],
             "bucketing": True, "intra_op_threads": 2}  # fmt: skip
    cfg = serving_config(_point_config(entry.config, point), _in_model_plan(seq))
    assert [t.allow_ragged_batch for t in cfg.input] == [True] and "bucketing" in cfg.parameters
    assert cfg.parameters["intra_op_threads"].string_value == "2"
    srv.load_model(state, "ffn", tc.config_to_json(cfg))
    rng = np.random.default_rng(5)
    xs = [rng.standard_normal((b, s, WIDTH)).astype(np.float32) for b, s, c in LOG for _ in range(min(c, 3))]
    edges = seq["plan"].axes[0]["edges"]

    def infer(x):
        client = httpclient.InferenceServerClient(state.http_url)
        try:
            inp = httpclient.InferInput("x", list(x.shape), "FP32")
            inp.set_data_from_numpy(x)
            return client.infer("ffn", [inp]).as_numpy("y")
        finally:
            client.close()

    try:
        before = scrape_metrics(state.metrics_url, "ffn")
        with ThreadPoolExecutor(len(xs)) as pool:
            got = list(pool.map(infer, xs))
        after = scrape_metrics(state.metrics_url, "ffn")
    finally:
        srv.load_model(state, "ffn")
    for x, y in zip(xs, got, strict=True):
        want = run_onnx(seq["onnx"], {"x": x})["y"]
        assert y.shape == want.shape
        np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)
    assert any(x.shape[1] not in edges for x in xs), f"no request falls between the edges {edges}"
    requests = after["nv_inference_request_success"] - before["nv_inference_request_success"]
    executions = after["nv_inference_exec_count"] - before["nv_inference_exec_count"]
    assert requests == len(xs)
    # Shapes that differ shared executions: fewer executions than distinct shapes sent.
    assert executions < len({x.shape for x in xs}), (executions, requests)


def test_a_ragged_replay_batches_across_shapes(seq):
    from trt_pdk.triton.perf import PerfOptions, _Session
    from trt_pdk.triton.replay import replay_traffic
    from trt_pdk.triton.repository import validate_repository

    state = seq["server"].state
    cfg = validate_repository(seq["root"] / "deploy", ["ffn"])[0].config
    traffic = replay_traffic(seq["log"], seq["profiles"])
    session = _Session(state, "ffn", cfg, traffic=traffic, dtypes={"x": np.float32},
                       options=PerfOptions(concurrency=16, duration=0.5))  # fmt: skip
    session.bucketing = _in_model_plan(seq)
    point = {"instance_count": 1, "max_queue_delay_us": 2000, "preferred_batch_sizes": [], "bucketing": True}
    try:
        r = session.replay(point)
        equal_shapes = session.replay({**point, "bucketing": False})
    finally:
        srv.load_model(state, "ffn")
    assert r["failed"] == 0 and r["distinct_shapes"] == len(LOG)
    # Without ragged batches a batch is a run of one shape in the queue; with them, any shapes.
    assert r["avg_batch"] > equal_shapes["avg_batch"], (r["avg_batch"], equal_shapes["avg_batch"])


def test_open_loop_replay_follows_the_logs_clock(seq, tmp_path):
    from trt_pdk.triton.replay import replay_open, replay_traffic

    traffic = replay_traffic(_write_log(tmp_path / "timed.jsonl", stamps=True), seq["profiles"])
    assert traffic.offsets is not None and traffic.offsets[-1] == pytest.approx(0.6)
    t0 = time.monotonic()
    r = replay_open(_seq_target(seq["server"].state, "ffn"), traffic, {"x": np.float32}, speed=2.0)
    took = time.monotonic() - t0
    assert r["failed"] == 0 and r["histogram"] == {f"x:{b}x{s}x{WIDTH}": c for b, s, c in LOG}
    assert r["offered_rps"] == pytest.approx(traffic.requests / 0.3, rel=1e-3)
    assert 0.3 <= took < 5


def _cli(argv: list[str], capsys) -> tuple[int, str, str]:
    from trt_pdk.cli import main

    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_perf_refuses_a_negative_duration(seq, capsys):
    run_dir = seq["server"].run_dir
    code, out, err = _cli(
        [
            "perf",
            "--model",
            "ffn",
            "--traffic",
            str(seq["log"]),
            "--run-dir",
            str(run_dir),
            "--duration",
            "-1",
        ],
        capsys,
    )
    assert code == 2 and out == ""
    assert "duration must be a positive number of seconds, got -1.0" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (run_dir / "perf.json").exists()


def test_perf_whose_every_request_fails_exits_2_with_one_paragraph(seq, capsys, tmp_path):
    log = tmp_path / "wrong.jsonl"
    log.write_text(json.dumps({"x": [1, 2, WIDTH + 1], "count": 5}) + "\n")  # not the model's width
    run_dir = seq["server"].run_dir
    code, out, err = _cli(
        [
            "perf",
            "--model",
            "ffn",
            "--traffic",
            str(log),
            "--run-dir",
            str(run_dir),
            "--search",
            "none",
            "--duration",
            "0.2",
        ],
        capsys,
    )
    assert code == 2 and out == ""
    assert "every one of the 5 requests of the baseline replay failed" in err
    assert "Traceback" not in err and len([x for x in err.splitlines() if "error:" in x]) == 1
    # The model is back on its own config and still serves.
    assert srv.http_get(seq["server"].state.http_port, "/v2/models/ffn/ready") == 200


def test_server_killed_mid_perf_is_one_clear_error_and_leaves_nothing(seq, tmp_path, capsys):
    run_dir = tmp_path / "run"

    def kill_when_up():
        for _ in range(300):
            state = srv.read_state(run_dir)
            if state is not None:
                time.sleep(1.5)
                os.kill(state.pid, signal.SIGKILL)
                return
            time.sleep(0.1)

    killer = threading.Thread(target=kill_when_up, daemon=True)
    killer.start()
    code, _, err = _cli(
        [
            "perf",
            "--model",
            "ffn",
            "--traffic",
            str(seq["log"]),
            "--repository",
            str(seq["root"] / "deploy"),
            "--run-dir",
            str(run_dir),
            "--no-bucketing",
            "--duration",
            "30",
        ],
        capsys,
    )
    killer.join()
    assert code == 2 and "died during the measurement" in err and "Traceback" not in err
    assert not (run_dir / "perf.json").exists()
    stub = str(run_dir.resolve() / "backends" / "python" / "triton_python_backend_stub")
    for _ in range(50):
        if not any(p.name.isdigit() and _argv0(p) == stub for p in Path("/proc").iterdir()):
            break
        time.sleep(0.1)
    else:
        raise AssertionError(f"a stub of the killed server is still running ({stub})")


def test_threads_per_instance_are_searched_for_the_kits_model_within_the_cores(tmp_path, monkeypatch):
    from trt_pdk.triton import perf
    from trt_pdk.triton.demo_model import token_mlp_onnx
    from trt_pdk.triton.repository import validate_repository

    onnx_path = token_mlp_onnx(tmp_path / "ffn.onnx", WIDTH, hidden=64)
    repository_from_onnx(onnx_path, tmp_path / "deploy", "ffn")
    monkeypatch.setattr(perf, "_cpu_count", lambda: 2)
    entry = validate_repository(tmp_path / "deploy", ["ffn"])[0]
    # The model's own thread count first (the baseline's), then the others that fit the cores.
    assert perf._thread_counts(entry, perf.PerfOptions(intra_op_threads=[1, 2, 4])) == [1, 2]
    grid = {"instance_count": [1, 2]}
    # Past the cores, threads take instances away: on 2 cores, 2 x 2 is 1 x 2.
    assert perf._within_cores({"instance_count": 2, "intra_op_threads": 2}, grid, 2)["instance_count"] == 1
    assert perf._within_cores({"instance_count": 2, "intra_op_threads": 1}, grid, 2)["instance_count"] == 2
    assert perf._within_cores({"instance_count": 2, "intra_op_threads": None}, grid, 2)["instance_count"] == 2
    # Another python model (here: ours, edited) has no such knob the kit knows of.
    model_py = next((tmp_path / "deploy").rglob("model.py"))
    model_py.write_text(model_py.read_text() + "\n# edited\n")
    entry = validate_repository(tmp_path / "deploy", ["ffn"])[0]
    assert perf._thread_counts(entry, perf.PerfOptions()) == [None]
