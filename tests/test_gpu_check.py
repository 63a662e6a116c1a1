"""scripts/gpu-check's bookkeeping, which must hold on the GPU machine where nobody watches:
bad arguments refused, and a run cut short by its budget still names every step in
summary.json with its status. The GPU steps themselves run only on a GPU machine."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def _gpu_check(repo, *args):
    return subprocess.run(
        ["bash", str(repo / "scripts" / "gpu-check"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "PYTHON": sys.executable},  # writes summary.json
    )


def test_usage_and_bad_headers_exit_2(repo, tmp_path):
    assert _gpu_check(repo).returncode == 2
    done = _gpu_check(repo, str(tmp_path / "out"), "--trt-headers", str(tmp_path))
    assert done.returncode == 2 and "no include/NvInferVersion.h" in done.stderr


def test_a_spent_budget_still_writes_every_step(repo, tmp_path):
    out = tmp_path / "out"
    done = _gpu_check(repo, str(out), "--no-build", "--budget", "1")
    assert done.returncode == 1, done.stderr
    summary = json.loads((out / "summary.json").read_text())
    status = {s["step"]: s["status"] for s in summary["steps"]}
    assert status == {
        "environment": "out_of_time",
        "build": "skipped",
        "adapter_enqueue": "skipped",
        "benchmark": "out_of_time",
        "pytest_cuda": "out_of_time",
        "test_all": "out_of_time",
        "adapter_enqueue_sanitizer": "skipped",
    }
    assert summary["ok"] is False
    assert "no TensorRT headers" in next(
        s["reason"] for s in summary["steps"] if s["step"] == "adapter_enqueue"
    )
    assert (out / "gpu-check.log").is_file() and not (out / "steps.tsv").exists()
