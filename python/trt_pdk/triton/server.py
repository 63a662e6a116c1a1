"""The embedded Triton: the real ``tritonserver`` from the nvidia-pytriton wheel, on our repository.

We use only the *files* of nvidia-pytriton (the server binary, its libraries, the python
backend and its stubs) and never import ``pytriton``. So the server side does not
constrain the kit: nvidia-pytriton pins ``numpy<2``, and that pin only applies to the
environment that installs the ``trt-pdk[triton]`` extra. Two ways to keep it apart:

* install the extra in the kit's environment (the test/CI environment does, with
  numpy 1.26, which every kit dependency accepts); or
* install ``nvidia-pytriton`` in a separate environment and point the kit at its server
  with ``TRT_PDK_TRITON_ROOT=<that site-packages>/pytriton/tritonserver``. The models'
  Python (the stub's interpreter) is then that environment by default, or ``python_env``
  below (:mod:`trt_pdk.triton.python_env`); it needs numpy<2 (the stub answers with empty
  tensors under numpy 2) and onnxruntime, and is checked before the server starts.

How the server is started, and why:

* ``--backend-directory`` is a folder in the run directory with symlinks to the python
  backend and to the stub built for the *running* Python's minor version;
* the stub loads libpython through the library path, so the running Python's
  ``LIBDIR`` goes first on ``LD_LIBRARY_PATH`` (a mismatched 3.11.x crashes models),
  then ``nvidia_pytriton.libs``;
* the stub runs Python isolated and takes its environment from the first ``python3`` on
  ``PATH``, so the chosen environment's ``bin`` goes first on ``PATH``;
* HTTP, gRPC and metrics listen on 127.0.0.1 on free ports, model control is explicit;
* an attached server dies with its parent (``PR_SET_DEATHSIG``); a detached one
  (``serve --detach``) writes ``triton_server.json`` (PID, ports) in the run folder so
  ``status`` and ``stop`` find it; stop is SIGTERM, then SIGKILL after a timeout;
* the log is ``tritonserver.log`` in the run folder; start-up failures quote the lines
  of it that explain them.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import importlib.util
import json
import os
import re
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

from trt_pdk._fs import PidLock, write_text_atomic
from trt_pdk.errors import UserError
from trt_pdk.triton.repository import models_dir, validate_repository

STATE_FILE = "triton_server.json"
LOG_FILE = "tritonserver.log"
LOCK_FILE = "server.lock"
_PR_SET_DEATHSIG = 1


# --------------------------------------------------------------------------- locating


@dataclass(frozen=True)
class TritonInstall:
    """Where the server binary, its libraries, the python backend and its stubs are."""

    root: Path  # .../pytriton/tritonserver
    binary: Path
    libs: Path | None
    python_backend: Path
    stub: Path


def find_triton(python_version: str | None = None) -> TritonInstall:
    """Locates tritonserver: ``$TRT_PDK_TRITON_ROOT``, else the installed nvidia-pytriton wheel."""
    ver = python_version or f"{sys.version_info.major}.{sys.version_info.minor}"
    env_root = os.environ.get("TRT_PDK_TRITON_ROOT")
    if env_root:
        root = Path(env_root)
    else:
        spec = importlib.util.find_spec("pytriton")
        if spec is None or not spec.submodule_search_locations:
            raise UserError(
                "the embedded Triton server needs the nvidia-pytriton wheel (it carries tritonserver "
                "and the python backend). Install it with `pip install 'trt-pdk[triton]'`, or install "
                "nvidia-pytriton in another environment and set TRT_PDK_TRITON_ROOT to its "
                "site-packages/pytriton/tritonserver."
            )
        root = Path(next(iter(spec.submodule_search_locations))) / "tritonserver"
    binary = root / "bin" / "tritonserver"
    if not binary.is_file():
        raise UserError(
            f"no tritonserver binary at {binary}; reinstall nvidia-pytriton or fix TRT_PDK_TRITON_ROOT."
        )
    libs = root.parent.parent / "nvidia_pytriton.libs"
    backend = root / "backends" / "python"
    stub = root / "python_backend_stubs" / ver / "triton_python_backend_stub"
    if not stub.is_file():
        have = sorted(p.name for p in (root / "python_backend_stubs").glob("*"))
        raise UserError(
            f"the python backend has no stub for Python {ver} under {root / 'python_backend_stubs'} "
            f"(it has: {', '.join(have) or 'none'}). Run trt-pdk with one of those Pythons."
        )
    return TritonInstall(root, binary, libs if libs.is_dir() else None, backend, stub)


def _backends_folder(install: TritonInstall, run_dir: Path) -> Path:
    """A backends folder of symlinks: the python backend plus the stub for our Python."""
    folder = run_dir / "backends" / "python"
    folder.mkdir(parents=True, exist_ok=True)
    links = {p.name: p for p in install.python_backend.iterdir() if p.name != "__pycache__"}
    links["triton_python_backend_stub"] = install.stub
    for name, src in links.items():
        dst = folder / name
        if dst.is_symlink() or dst.exists():
            if dst.resolve() == src.resolve():
                continue
            dst.unlink()
        dst.symlink_to(src)
    return folder.parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _check_port(port: int, what: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError as exc:
            raise UserError(
                f"{what} port {port} on 127.0.0.1 is in use ({exc.strerror}). Stop what holds it "
                f"(`ss -ltnp 'sport = :{port}'` shows it) or leave the port out to get a free one."
            ) from exc


def _set_deathsig() -> None:  # runs in the child between fork and exec
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_DEATHSIG, signal.SIGKILL)


# --------------------------------------------------------------------------- server


@dataclass
class ServerState:
    """What ``serve --detach`` records so that ``status`` and ``stop`` find the server."""

    pid: int
    http_port: int
    grpc_port: int
    metrics_port: int
    repository: str
    models: list[str]
    log: str
    started: float = field(default_factory=time.time)

    @property
    def http_url(self) -> str:
        return f"127.0.0.1:{self.http_port}"

    @property
    def grpc_url(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/metrics"


class TritonServer:
    """A tritonserver process on a model repository, configured now and started by :meth:`start`.

    Args:
        repository: deployment folder or Triton model repository (validated before start).
        run_dir: folder for the log, the backends folder and the state file.
        models: models to load at start (default: every model in the repository).
        http_port / grpc_port / metrics_port: 0 (default) picks free ports.
        detached: survive the parent (for ``serve --detach``); otherwise die with it.
        python_env: Python environment for the models' stub (default: see
            :func:`trt_pdk.triton.python_env.model_python`); checked before the start.
        check_python: refuse a models' Python the stub cannot serve from (default True).
        extra_args: more tritonserver arguments (e.g. ``--backend-config=...``).
        ready_timeout: seconds to wait for the server and every model to be ready.

    Use as a context manager, or call :meth:`start` and :meth:`stop`.
    """

    def __init__(
        self,
        repository: str | Path,
        run_dir: str | Path,
        *,
        models: list[str] | None = None,
        http_port: int = 0,
        grpc_port: int = 0,
        metrics_port: int = 0,
        detached: bool = False,
        python_env: str | Path | None = None,
        extra_args: list[str] = (),
        ready_timeout: float = 60.0,
        check_python: bool = True,
    ):
        self.repository = Path(repository)
        self.run_dir = Path(run_dir).absolute()  # the state file must work from any cwd
        self.models = list(models) if models else None
        self.ports = {"http": http_port, "grpc": grpc_port, "metrics": metrics_port}
        self.detached = detached
        from trt_pdk.triton.python_env import model_python

        self.python_env = model_python(python_env)
        self.check_python = check_python
        self.extra_args = list(extra_args)
        self.ready_timeout = ready_timeout
        self.process: subprocess.Popen | None = None
        self.state: ServerState | None = None
        self._lock: PidLock | None = None

    # -- lifecycle

    def start(self) -> ServerState:
        repo = models_dir(self.repository)
        entries = validate_repository(repo, self.models)
        models = [e.name for e in entries]
        install = find_triton()
        if self.check_python:
            from trt_pdk.triton.python_env import check_model_python

            check_model_python(self.python_env, f"{sys.version_info.major}.{sys.version_info.minor}")
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            probe = self.run_dir / ".write_test"
            probe.write_text("")
            probe.unlink()
        except OSError as exc:
            raise UserError(
                f"run folder {self.run_dir} is not writable ({exc.strerror}); pass another."
            ) from exc
        self._lock_run_dir()
        try:
            old = read_state(self.run_dir)
            if old is not None and pid_alive(old.pid):
                raise UserError(
                    f"a Triton server (PID {old.pid}) already runs from {self.run_dir}; "
                    f"`trt-pdk triton stop --run-dir {self.run_dir}` first, or use another run folder."
                )
            clean_run_dir(self.run_dir)
            return self._start(models, install, repo)
        except BaseException:
            self._unlock_run_dir()
            raise

    def _lock_run_dir(self) -> None:
        """Holds ``server.lock`` in the run folder while this object's server runs."""
        run_dir = self.run_dir
        self._lock = PidLock(
            run_dir / LOCK_FILE,
            lambda holder: (
                f"another trt-pdk process (PID {holder}) is starting or running a Triton server from "
                f"{run_dir}; wait for it, stop it, or use another run folder."
            ),
        )
        self._lock.acquire()

    def _unlock_run_dir(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def _start(self, models: list[str], install: TritonInstall, repo: Path) -> ServerState:
        for what, port in self.ports.items():
            if port:
                _check_port(port, what)
        ports = {k: v or free_port() for k, v in self.ports.items()}
        backends = _backends_folder(install, self.run_dir)
        log_path = self.run_dir / LOG_FILE
        argv = [
            str(install.binary),
            f"--model-repository={repo.resolve()}",
            f"--backend-directory={backends.resolve()}",
            "--model-control-mode=explicit",
            *(f"--load-model={m}" for m in models),
            "--http-address=127.0.0.1",
            f"--http-port={ports['http']}",
            "--grpc-address=127.0.0.1",
            f"--grpc-port={ports['grpc']}",
            "--metrics-address=127.0.0.1",
            f"--metrics-port={ports['metrics']}",
            "--allow-metrics=true",
            "--metrics-interval-ms=1000",
            # Open keep-alive clients would otherwise hold shutdown for 30 s.
            "--exit-timeout-secs=5",
            "--strict-readiness=true",
            # Shared memory named after the run folder, so that a later start frees what a
            # killed server's stubs held (clean_run_dir).
            f"--backend-config=python,shm-region-prefix-name={shm_prefix(self.run_dir)}",
            *self.extra_args,
        ]
        env = self._environment(install)
        with log_path.open("ab") as log:
            log.write(f"\n=== trt-pdk: {' '.join(argv)}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.run_dir,
                # Its own process group: a Ctrl-C meant for trt-pdk reaches trt-pdk, which stops
                # the server itself (an interrupted run then reports "interrupted", not a dead server).
                start_new_session=True,
                preexec_fn=None if self.detached else _set_deathsig,  # noqa: PLW1509 - only prctl
            )
        self._log_offset = log_path.stat().st_size if log_path.exists() else 0
        self.state = ServerState(
            pid=self.process.pid,
            http_port=ports["http"],
            grpc_port=ports["grpc"],
            metrics_port=ports["metrics"],
            repository=str(repo.resolve()),
            models=models,
            log=str(log_path),
        )
        try:
            self.wait_ready(models)
        except BaseException:
            self.stop()
            raise
        write_text_atomic(self.run_dir / STATE_FILE, json.dumps(asdict(self.state), indent=2) + "\n")
        return self.state

    def _environment(self, install: TritonInstall) -> dict[str, str]:
        env = dict(os.environ)
        libdirs = [sysconfig.get_config_var("LIBDIR") or ""]
        if install.libs:
            libdirs.append(str(install.libs))
        libdirs += [p for p in env.get("LD_LIBRARY_PATH", "").split(os.pathsep) if p]
        env["LD_LIBRARY_PATH"] = os.pathsep.join(p for p in libdirs if p)
        env["PATH"] = os.pathsep.join([str(self.python_env / "bin"), env.get("PATH", "")])
        env["VIRTUAL_ENV"] = str(self.python_env)
        env.pop("PYTHONHOME", None)
        return env

    def wait_ready(self, models: list[str], timeout: float | None = None) -> None:
        """Waits for the server to be live and each model ready; on failure quotes the log."""
        assert self.state is not None
        deadline = time.monotonic() + (timeout or self.ready_timeout)
        pending = list(models)
        live = False
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise UserError(
                    f"tritonserver exited with code {self.process.returncode} during start-up. "
                    + explain_log(self.state.log)
                )
            if not live:
                live = http_get(self.state.http_port, "/v2/health/live") == 200
            if live:
                pending = [
                    m for m in pending if http_get(self.state.http_port, f"/v2/models/{m}/ready") != 200
                ]
                if not pending:
                    return
                failed = _failed_models(self.state.http_port, pending)
                if failed:
                    raise UserError(
                        "Triton could not load "
                        + "; ".join(f"model {m!r}: {why}" for m, why in failed.items())
                        + ". "
                        + explain_log(self.state.log, failed)
                    )
            time.sleep(0.2)
        raise UserError(
            f"Triton was not ready within {timeout or self.ready_timeout:.0f} s "
            f"({'models not ready: ' + ', '.join(pending) if live else 'server not live'}). "
            + explain_log(self.state.log)
        )

    def stop(self, timeout: float = 10.0) -> int | None:
        """Stops the server: SIGTERM, then SIGKILL after ``timeout`` seconds. Returns its exit code."""
        code = None
        if self.process is not None:
            code = terminate(self.process.pid, timeout, self.process)
            self.process = None
        elif self.state is not None:
            code = terminate(self.state.pid, timeout)
        reap_orphan_stubs(self.run_dir)
        free_shared_memory(self.run_dir)
        state_file = self.run_dir / STATE_FILE
        if (
            self.state is not None
            and (old := read_state(self.run_dir, corrupt_ok=True))
            and old.pid == self.state.pid
        ):
            state_file.unlink(missing_ok=True)
        self._unlock_run_dir()
        return code

    def __enter__(self) -> TritonServer:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- model control

    def load_model(self, name: str, config_json: str | None = None, timeout: float = 60.0) -> None:
        """Loads (or reloads) a model; ``config_json`` overrides its config.pbtxt (Triton's load API).

        A reload serves the old version until the new one is ready: in-flight and new
        requests do not fail during a rollover.
        """
        assert self.state is not None
        load_model(self.state, name, config_json, timeout)


def load_model(state: ServerState, name: str, config_json: str | None = None, timeout: float = 60.0) -> None:
    body = {"parameters": {"config": config_json}} if config_json else {}
    code, text = http_post(state.http_port, f"/v2/repository/models/{name}/load", body, timeout)
    if code != 200:
        raise UserError(
            f"Triton could not load model {name!r}: {_error_text(text)}. " + explain_log(state.log)
        )


# --------------------------------------------------------------------------- state, processes


def read_state(run_dir: str | Path, *, corrupt_ok: bool = False) -> ServerState | None:
    """The state a server started from `run_dir` recorded; None when there is none.

    A state file that is not one (garbage, wrong fields) raises UserError naming it, or
    reads as None with `corrupt_ok` (for clean-up paths that must not fail).
    """
    path = Path(run_dir) / STATE_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        state = ServerState(**data)
        ints = (state.pid, state.http_port, state.grpc_port, state.metrics_port)
        if not all(type(v) is int and v > 0 for v in ints):
            raise TypeError("pid and ports must be positive integers")
        return state
    except (ValueError, TypeError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        if corrupt_ok:
            return None
        raise UserError(
            f"the server state file {path} is corrupt ({type(exc).__name__}: {str(exc)[:120]}); trt-pdk "
            f"did not write it this way. If a tritonserver still runs from {run_dir}, stop it by its PID "
            f"(`pgrep -af tritonserver` lists them); then delete the file."
        ) from None


def pid_alive(pid: int) -> bool:
    """True if ``pid`` runs and is a tritonserver (a reused PID is not ours to signal)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return b"tritonserver" in cmdline and stat.rsplit(")", 1)[-1].split()[0] != "Z"


def terminate(pid: int, timeout: float = 10.0, process: subprocess.Popen | None = None) -> int | None:
    """SIGTERM ``pid``, wait up to ``timeout`` s, then SIGKILL. Returns the exit code if known."""
    if process is None and not pid_alive(pid):
        return None
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None:
            if process.poll() is not None:
                return process.returncode
        elif not pid_alive(pid):
            return None
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    if process is not None:
        return process.wait(timeout=10)
    for _ in range(50):
        if not pid_alive(pid):
            break
        time.sleep(0.1)
    return -signal.SIGKILL


def reap_orphan_stubs(run_dir: str | Path) -> list[int]:
    """SIGKILLs python-backend stubs of this run folder's server left behind by its death.

    A SIGKILLed (or crashed) tritonserver cannot stop its stub processes, and they do not
    exit on their own. Only stubs started from this run folder's backends folder whose parent
    is no longer a live tritonserver are signalled. Returns their PIDs.
    """
    stub = str(Path(run_dir).resolve() / "backends" / "python" / "triton_python_backend_stub")
    reaped = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv0 = (proc / "cmdline").read_bytes().split(b"\0", 1)[0]
            ppid = int((proc / "stat").read_text().rsplit(")", 1)[-1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if argv0 != stub.encode() or pid_alive(ppid):
            continue
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(proc.name), signal.SIGKILL)
            reaped.append(int(proc.name))
    return reaped


def shm_prefix(run_dir: str | Path) -> str:
    """The python backend's shared-memory prefix for a server run from `run_dir`."""
    digest = hashlib.sha256(str(Path(run_dir).resolve()).encode()).hexdigest()[:16]
    return f"trt_pdk_{digest}_"


def free_shared_memory(run_dir: str | Path) -> list[str]:
    """Unlinks the ``/dev/shm`` regions of `run_dir`'s server once no process of it is alive."""
    state = read_state(run_dir, corrupt_ok=True)
    if state is not None and pid_alive(state.pid):
        return []
    freed = []
    for region in Path("/dev/shm").glob(shm_prefix(run_dir) + "*"):
        with contextlib.suppress(OSError):
            region.unlink()
            freed.append(region.name)
    return freed


def clean_run_dir(run_dir: str | Path) -> None:
    """What a dead holder of `run_dir` left: its server, its stubs, their shared memory, its state."""
    state = read_state(run_dir, corrupt_ok=True)
    if state is not None and pid_alive(state.pid) and Path(state.log).parent == Path(run_dir).absolute():
        terminate(state.pid)
    reap_orphan_stubs(run_dir)
    free_shared_memory(run_dir)
    if state is not None and not pid_alive(state.pid):
        (Path(run_dir) / STATE_FILE).unlink(missing_ok=True)


def server_status(run_dir: str | Path) -> dict:
    """{"running", "pid", ports, "models": {name: {"version", "state", "reason"}}} for a run folder."""
    state = read_state(run_dir)
    if state is None:
        return {"running": False, "run_dir": str(run_dir), "reason": f"no {STATE_FILE} in {run_dir}"}
    alive = pid_alive(state.pid)
    out = {"running": alive, "run_dir": str(run_dir), **asdict(state)}
    if alive:
        out["live"] = http_get(state.http_port, "/v2/health/live") == 200
        out["models"] = repository_index(state.http_port)
    return out


def repository_index(port: int) -> list[dict]:
    code, text = http_post(port, "/v2/repository/index", {}, 5.0)
    return json.loads(text) if code == 200 else []


def _failed_models(port: int, names: list[str]) -> dict[str, str]:
    index = repository_index(port)
    return {
        e["name"]: e.get("reason") or "unavailable"
        for e in index
        if e.get("name") in names and e.get("state") == "UNAVAILABLE" and e.get("reason")
    }


# --------------------------------------------------------------------------- HTTP, logs


def http_get(port: int, path: str, timeout: float = 2.0) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (OSError, ValueError):
        return 0


def http_post(port: int, path: str, body: dict, timeout: float) -> tuple[int, str]:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")
    except OSError as exc:
        return 0, str(exc)


def _error_text(text: str) -> str:
    with contextlib.suppress(json.JSONDecodeError, AttributeError):
        return json.loads(text)["error"]
    return text.strip() or "no answer"


_EXPLAIN = [
    (re.compile(r"unable to find backend library for backend '(\w+)'"),
     "The '{0}' backend is not in the embedded server (it has the python backend only); serve "
     "this model in the NGC container (see the deployment folder's Dockerfile)."),
    (re.compile(r"Address already in use|Failed to listen on|failed to start .* service", re.I),
     "A port is already in use: leave the ports out to get free ones, or stop the other server."),
    (re.compile(r"failed to (load|parse) .*config|Unable to parse config|Error parsing text-format", re.I),
     "The model config does not parse; `trt-pdk triton repo` validates configs with line:column."),
    (re.compile(r"libpython|GLIBC|error while loading shared libraries", re.I),
     "A shared library is missing or mismatched; run trt-pdk from the Python whose stub exists."),
    (re.compile(r"ModuleNotFoundError: No module named '(\w+)'"),
     "The models' Python lacks '{0}': install it in the environment first on the server's PATH."),
]  # fmt: skip


def explain_log(log_path: str | Path, reasons: dict[str, str] | None = None, max_lines: int = 12) -> str:
    """The log lines that explain a failure (errors first), plus a hint when we recognise it."""
    try:
        lines = Path(log_path).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return f"(no server log at {log_path})"
    start = max((i for i, line in enumerate(lines) if line.startswith("=== trt-pdk:")), default=-1) + 1
    lines = lines[start:]
    picked = [
        line for line in lines
        if re.match(r"^[EW]\d{4}", line) or re.search(r"error|failed|unable|Traceback|Exception", line, re.I)
    ]  # fmt: skip
    picked = (picked or lines)[-max_lines:]
    hints = []
    haystack = "\n".join(lines) + "\n" + "\n".join((reasons or {}).values())
    for pattern, hint in _EXPLAIN:
        m = pattern.search(haystack)
        if m:
            hints.append(hint.format(*m.groups()))
    body = "\n".join("    " + line for line in picked)
    return (" ".join(hints) + " " if hints else "") + f"Server log {log_path}:\n{body}"
