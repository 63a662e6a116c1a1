"""Runs a pipeline: stages in table order, resumable, into a folder swapped in only on success.

A stage's cache key hashes its own options, the keys of the stages whose results it reads
(its declared inputs), the outside files it reads (the model's ``.py``, the checkpoint, the
traffic log) and the kit: changing ``engine.*`` redoes the engine stage and no other. The
run is built in a temporary sibling of the run folder, seeded with every stage an earlier
run finished with today's key (the last good run, a failed one, or one that was killed),
and renamed over the run folder at the end; a failed or interrupted run leaves the last
good folder as it was and keeps its own files in ``<run folder>.failed``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import Any

from trt_pdk._fs import atomic_directory, write_text_atomic
from trt_pdk.errors import UserError
from trt_pdk.pipeline.lock import RunLock, leftover_folders, stop_leftover_processes
from trt_pdk.pipeline.stage import Stage, StageContext, StageResult
from trt_pdk.pipeline.stages import STAGES

STATE = "state.json"


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


def stage_keys(cfg: Any) -> dict[str, str]:
    """``{stage: key}``: a key hashes the stage's own options, the keys of the stages whose
    results it reads, the outside files it reads and the kit: nothing else."""
    kit = _kit_fingerprint()
    producer = {s.result: s.name for s in STAGES}
    keys: dict[str, str] = {}
    for stage in STAGES:
        h = hashlib.sha256()
        inputs = [keys[producer[t]] for t in stage.needs]
        h.update(json.dumps([stage.name, cfg.section(stage.section), inputs, kit], sort_keys=True).encode())
        for name, path in sorted(stage.sources(cfg).items()):
            h.update(f"{name}:{_sha_file(path)}".encode())
        keys[stage.name] = h.hexdigest()
    return keys


@contextlib.contextmanager
def _signals_interrupt():
    """SIGTERM interrupts a run like Ctrl-C: stages stop, the server stops, temp folders go."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    old = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


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
        cfg: a validated config (:func:`~trt_pdk.pipeline.config.load_config`).
        run_dir: the run folder (default ``runs/<name>`` under the current folder).
        progress: where the stage lines go (default stderr).

    Calling it returns the run folder; ``report.json``/``.md``/``.html`` are inside. One run
    at a time holds a run folder (:class:`RunLock`); a second one is refused naming the
    holder's PID. Stages that finished in an earlier run, good, failed, interrupted or
    killed, are reused when their key is unchanged.
    """

    def __init__(self, cfg: Any, run_dir: str | Path | None = None, progress: Any = None) -> None:
        self.cfg = cfg
        self.run_dir = Path(run_dir) if run_dir else Path("runs") / cfg.name
        self.progress = Progress(len(STAGES) + 1, progress)

    def __call__(self) -> Path:
        check_run_dir(self.run_dir)
        keys = stage_keys(self.cfg)
        with RunLock(self.run_dir), _signals_interrupt():
            leftovers = leftover_folders(self.run_dir)
            for folder in leftovers:
                stop_leftover_processes(folder)
            finished = finished_stages(keys, [*leftovers, _failed(self.run_dir), self.run_dir])
            with atomic_directory(self.run_dir) as tmp:
                try:
                    self._run(tmp, keys, finished, leftovers)
                except BaseException as exc:
                    self._keep_failed(tmp, exc)
            # What a failed run kept was reused where still valid; it is stale now.
            shutil.rmtree(_failed(self.run_dir), ignore_errors=True)
        return self.run_dir

    def _keep_failed(self, tmp: Path, exc: BaseException) -> None:
        """Moves this run's files to ``<run>.failed`` (its finished stages seed the next run)."""
        failed: Path | None = _failed(self.run_dir)
        shutil.rmtree(failed, ignore_errors=True)
        try:
            tmp.replace(failed)
        except OSError:
            failed = None
        if isinstance(exc, UserError):
            kept = f" This run's files are in {failed}." if failed else ""
            last = (
                f" The last good run in {self.run_dir} is unchanged."
                if (self.run_dir / "report.json").is_file()
                else ""
            )
            raise UserError(f"{exc}{last}{kept}") from None
        raise exc

    def _run(
        self, tmp: Path, keys: dict[str, str], finished: dict[str, tuple[Path, dict]], leftovers: list[Path]
    ) -> None:
        ctx = StageContext(tmp.absolute(), self.cfg.source.parent.absolute(), self.cfg.name)
        records: dict[str, dict[str, Any]] = {}
        state = {"pipeline": self.cfg.name, "config": str(self.cfg.source), "stages": records}
        skip = skipped_stages(self.cfg.skip)
        reuse = {s.name: s.name in finished and s.name not in skip for s in STAGES}
        # A process (the server) is not files: start it again whenever a stage reading it runs.
        for stage in STAGES:
            readers = [s for s in STAGES if stage.result in s.needs and s.name not in skip]
            if stage.process and any(not reuse[s.name] for s in readers):
                reuse[stage.name] = False
        for stage in STAGES:
            if reuse[stage.name] and (finished[stage.name][0] / stage.name).is_dir():
                src = finished[stage.name][0] / stage.name
                shutil.copytree(src, tmp / stage.name, symlinks=True, dirs_exist_ok=True)
        for folder in leftovers:
            shutil.rmtree(folder, ignore_errors=True)
        results: dict[type, StageResult] = {}
        try:
            for stage in STAGES:
                self.progress.start(stage.name)
                if stage.name in skip:
                    records[stage.name] = {
                        "status": "skipped",
                        "seconds": 0.0,
                        "reason": skip[stage.name],
                        "key": keys[stage.name],
                        "result": {},
                    }
                    self.progress.end("skipped", 0.0, skip[stage.name])
                    continue
                if reuse[stage.name]:
                    rec = dict(finished[stage.name][1], reused=True)
                    results[stage.result] = stage.result.from_json(
                        rec["result"], rec["status"], rec["reason"]
                    )
                    records[stage.name] = rec
                    write_text_atomic(tmp / STATE, json.dumps(state, indent=2, default=str) + "\n")
                    self.progress.end(f"{rec['status']} (reused)", rec["seconds"])
                    continue
                if any(t not in results for t in stage.required):  # an input stage failed earlier
                    break
                rec = self._run_stage(stage, ctx, keys[stage.name], results)
                records[stage.name] = rec
                write_text_atomic(tmp / STATE, json.dumps(state, indent=2, default=str) + "\n")
                if rec["status"] == "failed":
                    break
        finally:
            for process in reversed(ctx.processes):
                process.stop()
            ctx.processes.clear()
        from trt_pdk.pipeline.report import write_report

        failed = next((n for n, r in records.items() if r["status"] == "failed"), None)
        if failed is not None:
            write_report(tmp, self.cfg, records, results)
            raise UserError(f"stage {failed} failed: {records[failed]['reason']}")
        self.progress.start("report")
        t0 = time.perf_counter()
        write_report(tmp, self.cfg, records, results)
        self.progress.end("ok", time.perf_counter() - t0)
        write_text_atomic(tmp / STATE, json.dumps(state, indent=2, default=str) + "\n")

    def _run_stage(
        self, stage: Stage, ctx: StageContext, key: str, results: dict[type, StageResult]
    ) -> dict[str, Any]:
        folder = ctx.root / stage.name
        shutil.rmtree(folder, ignore_errors=True)
        ctx.sources = stage.sources(self.cfg)
        t0 = time.perf_counter()
        try:
            inputs = {name: results.get(kind) for name, kind in stage.inputs.items()}
            result = stage.run(ctx, getattr(self.cfg, stage.section), **inputs)
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
        if result.status != "failed":
            results[stage.result] = result
        self.progress.end(result.status, seconds, result.reason if result.status != "ok" else "")
        return {
            "status": result.status,
            "seconds": round(seconds, 3),
            "reason": result.reason,
            "key": key,
            "result": result.to_json(),
        }


def skipped_stages(names: list[str]) -> dict[str, str]:
    """``{stage: why}`` for the stages the config skips and the stages reading their results."""
    skip = {n: "listed in the config's `skip`" for n in names}
    producers = {s.result: s.name for s in STAGES}
    for stage in STAGES:
        absent = [producers[t] for t in stage.required if producers[t] in skip]
        if absent and stage.name not in skip:
            skip[stage.name] = f"it reads the results of {', '.join(absent)}, which the config skips"
    return skip


def _failed(run_dir: Path) -> Path:
    return run_dir.with_name(run_dir.name + ".failed")


def finished_stages(keys: dict[str, str], folders: list[Path]) -> dict[str, tuple[Path, dict[str, Any]]]:
    """``{stage: (folder, record)}``: stages some earlier run finished with today's key.

    `folders` are earlier runs' folders (the last good one, a failed one, one a killed run
    left); each keeps ``state.json`` up to date after every stage.
    """
    found: dict[str, tuple[Path, dict[str, Any]]] = {}
    by_name = {s.name: s for s in STAGES}
    for folder in folders:
        try:
            records = json.loads((folder / STATE).read_text(encoding="utf-8"))["stages"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        for name, rec in records.items() if isinstance(records, dict) else ():
            stage = by_name.get(name)
            if stage is None or name in found or not isinstance(rec, dict):
                continue
            if rec.get("key") != keys[name] or rec.get("status") not in ("ok", "skipped"):
                continue
            if not stage.process and not (folder / name).is_dir():
                continue
            try:
                stage.result.from_json(rec["result"])
            except (KeyError, TypeError, ValueError):
                continue
            found[name] = (folder, rec)
    return found


def run_pipeline(config: str | Path, run_dir: str | Path | None = None, progress: Any = None) -> Path:
    """Loads `config` and runs it; returns the run folder."""
    from trt_pdk.pipeline.config import load_config

    return RunPipeline(load_config(config), run_dir, progress)()
