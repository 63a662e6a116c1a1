"""Runs a pipeline: stages in order, resumable, into a folder swapped in only on success.

A stage's cache key hashes its config section, the outside files it reads (the model's
``.py``, the checkpoint, the traffic log) and the previous stage's key, so changing one
option redoes that stage and every later one, and nothing before it. The run is built in
a temporary sibling of the run folder (seeded with the last good run's finished stages)
and renamed over it at the end; a failed run leaves the last good folder as it was and
keeps its own files in ``<run folder>.failed`` for inspection.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from trt_pdk._fs import atomic_directory, write_text_atomic
from trt_pdk.errors import UserError
from trt_pdk.pipeline.config import PipelineConfig
from trt_pdk.pipeline.stages import STAGES, Context, Stage

STATE = "state.json"
SERVER_STAGES = tuple(s.name for s in STAGES if s.needs_server)


def _sha_file(path: Path) -> str:
    if not path.is_file():
        raise UserError(f"{path} does not exist; the pipeline config names it.")
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _kit_fingerprint() -> str:
    """The kit's version and plugin set: a reinstalled kit with other plugins redoes everything."""
    import trt_pdk
    from trt_pdk.registry import discover

    plugins = sorted(f"{s.namespace}::{s.name}:{','.join(s.versions)}" for s in discover().values())
    return json.dumps([getattr(trt_pdk, "__version__", "?"), plugins])


def stage_keys(cfg: PipelineConfig) -> dict[str, str]:
    """``{stage: key}``: each key chains the previous one."""
    keys, prev = {}, _kit_fingerprint()
    for stage in STAGES:
        h = hashlib.sha256()
        section = cfg.section(stage.section) if stage.section else {}
        h.update(json.dumps([stage.name, section, prev], sort_keys=True, default=str).encode())
        for path in stage.files(cfg):
            h.update(_sha_file(path).encode())
        prev = keys[stage.name] = h.hexdigest()
    return keys


def check_run_dir(run_dir: Path) -> None:
    """UserError unless the run folder can be created or replaced."""
    if run_dir.exists() and not run_dir.is_dir():
        raise UserError(f"run folder {run_dir} is a file; pass --run-dir with a folder path.")
    probe = run_dir.parent
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        raise UserError(
            f"cannot write the run folder {run_dir}: {probe} is not a writable folder. Pass --run-dir "
            f"with a folder you can write, or fix the permissions of {probe}."
        )


class Progress:
    """One line per stage on stderr: ``[ 3/12] simplify ....... ok 0.4 s``."""

    def __init__(self, total: int, stream: Any = None) -> None:
        self.total, self.count = total, 0
        self.stream = stream or sys.stderr

    def start(self, name: str) -> None:
        self.count += 1
        self.stream.write(f"[{self.count:2d}/{self.total}] {name:<11}")
        self.stream.flush()

    def end(self, status: str, seconds: float, reason: str = "") -> None:
        short = (reason[:150] + "...") if len(reason) > 150 else reason
        tail = f"  ({short})" if short else ""
        self.stream.write(f" {status} {seconds:.1f} s{tail}\n")
        self.stream.flush()


class RunPipeline:
    """The ``trt-pdk pipeline run`` job, configured now and run by calling it.

    Args:
        cfg: a validated :class:`~trt_pdk.pipeline.config.PipelineConfig`.
        run_dir: the run folder (default ``runs/<name>`` under the current folder).
        progress: where the stage lines go (default stderr).

    Calling it returns the run folder; ``report.json``/``.md``/``.html`` are inside.
    """

    def __init__(self, cfg: PipelineConfig, run_dir: str | Path | None = None, progress: Any = None) -> None:
        self.cfg = cfg
        self.run_dir = Path(run_dir) if run_dir else Path("runs") / cfg.name
        self.progress = Progress(len(STAGES) + 1, progress)

    def __call__(self) -> Path:
        check_run_dir(self.run_dir)
        keys = stage_keys(self.cfg)
        old = self._previous_state()
        with atomic_directory(self.run_dir) as tmp:
            try:
                self._run(tmp, keys, old)
            except BaseException as exc:
                failed = self.run_dir.with_name(self.run_dir.name + ".failed")
                shutil.rmtree(failed, ignore_errors=True)
                try:
                    tmp.replace(failed)
                except OSError:
                    failed = None
                if isinstance(exc, UserError) and failed is not None:
                    raise UserError(
                        f"{exc} The last good run in {self.run_dir} is unchanged; this run's files are in "
                        f"{failed}."
                    ) from None
                raise
        return self.run_dir

    def _previous_state(self) -> dict[str, Any]:
        path = self.run_dir / STATE
        try:
            return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        except (OSError, json.JSONDecodeError):
            return {}

    def _run(self, tmp: Path, keys: dict[str, str], old: dict[str, Any]) -> None:
        if old:
            shutil.copytree(self.run_dir, tmp, dirs_exist_ok=True, symlinks=True)
        ctx = Context(self.cfg, tmp.absolute())
        previous = old.get("stages", {})
        records: dict[str, dict[str, Any]] = {}
        state = {"pipeline": self.cfg.name, "config": str(self.cfg.source), "stages": records}
        cached = {s.name: self._reusable(s, keys, previous, tmp) for s in STAGES}
        chain_ok = True
        for stage in STAGES:
            chain_ok = chain_ok and cached[stage.name]
            cached[stage.name] = chain_ok
        # The server is a process, not a file: start it when any stage that needs it reruns.
        serve_again = not all(cached[n] for n in SERVER_STAGES)
        if serve_again:
            cached["serve"] = False
        try:
            for stage in STAGES:
                self.progress.start(stage.name)
                if cached[stage.name]:
                    rec = dict(previous[stage.name], reused=True)
                    ctx.results[stage.name] = rec["result"]
                    records[stage.name] = rec
                    self.progress.end(f"{rec['status']} (reused)", rec["seconds"])
                    continue
                rec = self._run_stage(stage, ctx, keys[stage.name])
                records[stage.name] = rec
                write_text_atomic(tmp / STATE, json.dumps(state, indent=2, default=str) + "\n")
                if rec["status"] == "failed":
                    break
        finally:
            if ctx.server is not None:
                ctx.server.stop()
                ctx.server = None
        failed = next((n for n, r in records.items() if r["status"] == "failed"), None)
        if failed is not None:
            from trt_pdk.pipeline.report import write_report

            write_report(tmp, self.cfg, records)
            raise UserError(f"stage {failed} failed: {records[failed]['reason']}")
        self.progress.start("report")
        t0 = time.perf_counter()
        from trt_pdk.pipeline.report import write_report

        write_report(tmp, self.cfg, records)
        self.progress.end("ok", time.perf_counter() - t0)
        write_text_atomic(tmp / STATE, json.dumps(state, indent=2, default=str) + "\n")

    @staticmethod
    def _reusable(stage: Stage, keys: dict[str, str], previous: dict[str, Any], tmp: Path) -> bool:
        rec = previous.get(stage.name)
        if not rec or rec.get("key") != keys[stage.name] or rec.get("status") not in ("ok", "skipped"):
            return False
        return stage.needs_server or (tmp / stage.name).is_dir()

    def _run_stage(self, stage: Stage, ctx: Context, key: str) -> dict[str, Any]:
        folder = ctx.root / stage.name
        shutil.rmtree(folder, ignore_errors=True)
        t0 = time.perf_counter()
        try:
            result = stage.run(ctx)
        except UserError as exc:
            seconds = time.perf_counter() - t0
            self.progress.end("failed", seconds)
            return {
                "status": "failed",
                "seconds": round(seconds, 3),
                "reason": str(exc),
                "key": key,
                "result": {},
            }
        except BaseException:
            self.progress.end("failed", time.perf_counter() - t0)
            raise
        folder.mkdir(parents=True, exist_ok=True)
        seconds = time.perf_counter() - t0
        status = result.pop("status", "ok")
        reason = result.pop("reason", "")
        ctx.results[stage.name] = result
        self.progress.end(status, seconds, reason if status != "ok" else "")
        return {
            "status": status,
            "seconds": round(seconds, 3),
            "reason": reason,
            "key": key,
            "result": result,
        }


def run_pipeline(config: str | Path, run_dir: str | Path | None = None, progress: Any = None) -> Path:
    """Loads `config` and runs it; returns the run folder."""
    from trt_pdk.pipeline.config import load_config

    return RunPipeline(load_config(config), run_dir, progress)()
