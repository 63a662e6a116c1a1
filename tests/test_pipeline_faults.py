"""Faults during a pipeline run: Ctrl-C, SIGTERM, SIGKILL and a second run on the same folder.

A tiny model and ``skip: [serve]`` keep each run to seconds; its factory sleeps on the call
numbered ``FAULT_SLEEP_ON_CALL`` (counted in ``calls.txt``), so a signal lands while the
compare stage runs, after export, check, simplify and rewrite have finished. The tests run
in order on one run folder, like a user retrying.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("torch")

from trt_pdk.cli import main

pytestmark = pytest.mark.slow

MODEL = """
import os
from pathlib import Path

import torch


class Block(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.bias = torch.nn.Parameter(torch.linspace(-1, 1, 16))

    def forward(self, x):
        return torch.nn.functional.gelu(x + self.bias)


def factory():
    calls = Path(__file__).with_name("calls.txt")
    with calls.open("a") as f:
        f.write("call\\n")
    if os.environ.get("FAULT_SLEEP_ON_CALL") == str(len(calls.read_text().splitlines())):
        import time

        time.sleep(300)
    return Block().eval(), (torch.randn(2, 4, 16),)
"""

CONFIG = """
name: t
model: {factory: model.py:factory, dynamic: ["x:0=batch", "x:1=seq"]}
traffic: traffic.jsonl
compare: {dims: {batch: [1, 2], seq: [1, 4]}}
skip: [serve]
deploy: {bundle_sources: false}
"""
FINISHED_BEFORE_COMPARE = ["export", "check", "simplify", "rewrite"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    path = tmp_path_factory.mktemp("faults")
    (path / "model.py").write_text(MODEL)
    (path / "traffic.jsonl").write_text('{"x": [1, 1, 16], "count": 5}\n{"x": [2, 8, 16], "count": 3}\n')
    (path / "p.yaml").write_text(CONFIG)
    return path


def _calls(folder: Path) -> int:
    path = folder / "calls.txt"
    return len(path.read_text().splitlines()) if path.exists() else 0


def _start_stuck_in_compare(folder: Path, export_reused: bool) -> subprocess.Popen:
    """A `pipeline run` in its own process group, returned once its compare stage sleeps."""
    target = _calls(folder) + (1 if export_reused else 3)  # export calls the factory twice
    env = dict(os.environ, FAULT_SLEEP_ON_CALL=str(target))
    proc = subprocess.Popen(
        [sys.executable, "-m", "trt_pdk", "pipeline", "run", "p.yaml", "--run-dir", "runs/t"],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + 180
    while _calls(folder) < target:
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the run never reached compare: {proc.communicate()[1].decode()[-2000:]}")
        time.sleep(0.1)
    return proc


def _temp_folders(folder: Path) -> list[str]:
    return sorted(p.name for p in (folder / "runs").glob(".t.*") if p.is_dir())


def _run(folder: Path, capsys) -> tuple[int, str]:
    cwd = Path.cwd()
    os.chdir(folder)
    try:
        code = main(["pipeline", "run", "p.yaml", "--run-dir", "runs/t"])
    finally:
        os.chdir(cwd)
    return code, capsys.readouterr().err


def _state(run_dir: Path) -> dict:
    return json.loads((run_dir / "state.json").read_text())["stages"]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupt_says_interrupted_exits_130_and_cleans_up(folder, signum):
    export_reused = (folder / "runs" / "t.failed").is_dir()
    proc = _start_stuck_in_compare(folder, export_reused)
    os.killpg(proc.pid, signum)  # what Ctrl-C in a terminal sends (SIGINT) or a supervisor (SIGTERM)
    _, err = proc.communicate(timeout=60)
    err = err.decode()
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert _temp_folders(folder) == []
    assert not (folder / "runs" / "t").exists()  # there was no good run to replace
    kept = _state(folder / "runs" / "t.failed")
    assert [n for n, r in kept.items() if r["status"] == "ok"] == FINISHED_BEFORE_COMPARE
    if export_reused:
        assert all(kept[n].get("reused") for n in FINISHED_BEFORE_COMPARE)


def test_a_second_run_is_refused_then_a_killed_run_is_resumed_without_leftovers(folder, capsys, monkeypatch):
    proc = _start_stuck_in_compare(folder, export_reused=True)
    try:
        code, err = _run(folder, capsys)
        assert code == 2
        assert f"in use by another `trt-pdk pipeline run` (PID {proc.pid})" in err
        assert "Traceback" not in err
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
    left = _temp_folders(folder)
    assert len(left) == 1  # what SIGKILL leaves: the run's temporary folder (and a free lock)
    # Without matplotlib the profiles plot is skipped with a note, not a failure.
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    code, err = _run(folder, capsys)
    assert code == 0, err
    assert _temp_folders(folder) == []
    stages = _state(folder / "runs" / "t")
    assert [n for n, r in stages.items() if r.get("reused")] == FINISHED_BEFORE_COMPARE
    assert stages["compare"]["status"] == "ok" and not stages["compare"].get("reused")
    report = json.loads((folder / "runs" / "t" / "report.json").read_text())
    assert report["plots"] == []
    assert any("matplotlib is not installed" in n for n in report["notes"])
    assert stages["serve"]["status"] == "skipped" and "skip" in stages["serve"]["reason"]


def test_a_failure_without_a_good_run_does_not_claim_one(tmp_path, capsys):
    (tmp_path / "model.py").write_text(MODEL)
    # The model's last axis is 16; a traffic log of width 17 cannot be served by it.
    (tmp_path / "traffic.jsonl").write_text('{"x": [1, 1, 17], "count": 5}\n')
    (tmp_path / "p.yaml").write_text(CONFIG)
    code, err = _run(tmp_path, capsys)
    assert code == 2 and "stage profiles failed" in err and "Traceback" not in err
    assert "last good run" not in err
    assert "runs/t.failed" in err


def test_changing_only_engine_options_reruns_only_its_readers(folder, capsys):
    config = folder / "p.yaml"
    config.write_text(CONFIG + "engine: {precision: fp16}\n")
    try:
        code, err = _run(folder, capsys)
    finally:
        config.write_text(CONFIG)
    assert code == 0, err
    stages = _state(folder / "runs" / "t")
    # deploy reads the engine's results (and perf's, which the config skips).
    assert [n for n, r in stages.items() if not r.get("reused")] == [
        "engine",
        "serve",
        "verify",
        "perf",
        "deploy",
    ]
    assert [n for n in ("serve", "verify", "perf") if stages[n]["status"] != "skipped"] == []
    assert "--fp16" in json.loads((folder / "runs" / "t" / "report.json").read_text())["engine"]["trtexec"]
