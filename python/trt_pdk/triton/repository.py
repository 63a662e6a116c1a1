"""Triton model repositories: written atomically, versioned, validated before any server.

A *deployment folder* written by :class:`RepositoryFromEngine` or :class:`RepositoryFromOnnx`::

    <out>/
      models/                  the Triton model repository (--model-repository)
        <name>/config.pbtxt
        <name>/<version>/model.plan (+ engine_io.json)          TensorRT
        <name>/<version>/model.onnx + model.py                    python backend, CPU
      plugins/*.so             plugin libraries the engine needs (TensorRT only)
      manifest.json            the pipeline's manifest/lock, when given
      Dockerfile               NGC Triton image whose TensorRT matches the engine
      launch.sh                the tritonserver command line, plugins wired in

Plugins and deployment files sit beside ``models/``, not in it: a server started with
the default model control mode loads every folder of the repository.

Writing rules: a new model version goes into a fresh folder renamed into place; a
version that exists is never rewritten (a server may be serving it); ``config.pbtxt``
and the other files are replaced atomically, after the whole result has been validated.
"""

from __future__ import annotations

import os
import shlex
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from trt_pdk._fs import atomic_directory, umask, write_text_atomic
from trt_pdk.errors import UserError
from trt_pdk.plugin_nodes import ONNXRUNTIME_DOMAINS  # nodes of other domains need a local function
from trt_pdk.triton import config as tc

MODELS_DIR = "models"
PLUGINS_DIR = "plugins"
MANIFEST_NAME = "manifest.json"
PYTHON_MODEL = Path(__file__).parent / "python_model" / "model.py"
CONTAINER_REPOSITORY = "/models"
CONTAINER_PLUGINS = "/opt/trt_pdk/plugins"


# --------------------------------------------------------------------------- locating


def models_dir(path: str | Path) -> Path:
    """The Triton model repository inside a deployment folder, or ``path`` itself if it is one."""
    path = Path(path)
    if not path.exists():
        raise UserError(
            f"model repository {path} does not exist. Write one with `trt-pdk triton repo --onnx "
            "MODEL.onnx --out DIR` (or --engine model.plan) and pass that DIR."
        )
    if (path / MODELS_DIR).is_dir():
        return path / MODELS_DIR
    if not path.is_dir():
        raise UserError(f"{path} is a file; a model repository is a folder of <model>/config.pbtxt.")
    return path


def versions(model_dir: Path) -> list[int]:
    return sorted(int(p.name) for p in model_dir.iterdir() if p.is_dir() and p.name.isdigit())


@dataclass(frozen=True)
class ModelEntry:
    name: str
    path: Path
    config: object  # ModelConfig
    versions: tuple[int, ...]


def validate_repository(path: str | Path, models: list[str] | None = None) -> list[ModelEntry]:
    """Parses and checks every model (or the named ones) the way the server would, and more.

    Raises UserError at ``config.pbtxt:line:col`` for a config Triton would reject, and for
    what it would accept but serve wrongly (engine dims vs profiles, missing model files).
    """
    repo = models_dir(path)
    names = models if models else sorted(p.name for p in repo.iterdir() if (p / "config.pbtxt").is_file())
    if not names:
        raise UserError(
            f"{repo} holds no model (no <model>/config.pbtxt). Write one with `trt-pdk triton repo`."
        )
    entries = []
    for name in names:
        mdir = repo / name
        if not mdir.is_dir():
            known = sorted(p.name for p in repo.iterdir() if p.is_dir())
            raise UserError(f"model {name!r} is not in {repo} (it has: {', '.join(known) or 'nothing'}).")
        cfg_path = mdir / "config.pbtxt"
        text = cfg_path.read_text(encoding="utf-8") if cfg_path.is_file() else None
        if text is None:
            raise UserError(f"{mdir} has no config.pbtxt.")
        cfg = tc.parse_config(text, str(cfg_path))
        tc.check_config(cfg, text, str(cfg_path))
        if cfg.name != name:
            raise UserError(
                f"{tc._where(text, str(cfg_path), 'name')}: name {cfg.name!r} differs from its folder "
                f"{name!r}; Triton refuses the model."
            )
        vs = versions(mdir)
        if not vs:
            raise UserError(f"{mdir} has no version folder (1/, 2/, ...); Triton would load nothing.")
        check_model_files(cfg, str(cfg_path), {v: mdir / str(v) for v in vs})
        entries.append(ModelEntry(name, mdir, cfg, tuple(vs)))
    return entries


def check_model_files(cfg, source: str, version_dirs: dict[int, Path]) -> None:
    """Every version folder holds the file the backend loads and, for engines, agrees with the config."""
    needed = _model_file(cfg)
    for v, vdir in sorted(version_dirs.items()):
        if needed and not (vdir / needed).exists():
            raise UserError(f"{vdir} lacks {needed}, which a {_kind(cfg)} model needs.")
        io_file = vdir / tc.EngineIO.FILE_NAME
        if cfg.platform == "tensorrt_plan" and io_file.is_file():
            tc.check_engine_agreement(cfg, tc.EngineIO.from_json(io_file), f"{source} (version {v})")


def _model_file(cfg) -> str | None:
    if cfg.default_model_filename:
        return cfg.default_model_filename
    if cfg.platform == "tensorrt_plan":
        return "model.plan"
    if cfg.backend == "python":
        return "model.py"
    return None


def _kind(cfg) -> str:
    return cfg.platform or cfg.backend


# --------------------------------------------------------------------------- writing


@dataclass
class _Written:
    """What a repository stage wrote, for the CLI and the pipeline's manifest."""

    root: Path
    models: Path
    name: str
    version: int
    config: Path
    launch_command: list[str]
    files: list[Path] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "root": str(self.root),
            "model_repository": str(self.models),
            "model": self.name,
            "version": self.version,
            "config": str(self.config),
            "launch_command": self.launch_command,
            "files": [str(p) for p in self.files],
        }


class _RepositoryStage:
    """Shared writer: version folder, config, manifest, launch script, Dockerfile."""

    def __init__(
        self,
        output: str | Path,
        name: str,
        batching: tc.BatchingOptions | None = None,
        *,
        version: int | None = None,
        version_policy: tc.VersionPolicy | None = None,
        manifest: str | Path | None = None,
        container_tag: str | None = None,
    ):
        self.output = Path(output)
        self.name = name
        self.batching = batching or tc.BatchingOptions()
        self.version = version
        self.version_policy = version_policy
        self.manifest = Path(manifest) if manifest else None
        self.container_tag = container_tag
        if not name or "/" in name or name.startswith("."):
            raise UserError(f"model name {name!r} must be a plain folder name.")

    # subclasses fill these
    def _config(self, tmp_version: Path): ...
    def _version_files(self, dest: Path) -> None: ...
    def _plugin_libraries(self) -> list[Path]:
        return []

    def __call__(self) -> _Written:
        if self.manifest is not None:
            from trt_pdk.lock import load_manifest

            load_manifest(self.manifest)  # a trt-pdk manifest (`trt-pdk lock RUN_DIR`), else UserError
        _check_writable(self.output)
        model_dir = self.output / MODELS_DIR / self.name
        existing = versions(model_dir) if model_dir.is_dir() else []
        version = self.version if self.version is not None else (max(existing) + 1 if existing else 1)
        if version < 1:
            raise UserError(f"model version {version} must be >= 1.")
        if version in existing:
            raise UserError(
                f"{model_dir / str(version)} already exists and may be serving; versions are never "
                f"rewritten in place. Add version {max(existing) + 1} instead (omit --version)."
            )
        # Build the version folder beside its final place, validate it, then rename it in.
        target = model_dir / str(version)
        with atomic_directory(target) as tmp:
            self._version_files(tmp)
            cfg = self._config(tmp)
            text = tc.config_to_text(cfg)
            source = f"{model_dir / 'config.pbtxt'} (generated)"
            parsed = tc.parse_config(text, source)
            tc.check_config(parsed, text, source)
            # The new config also governs the versions already there: check them all.
            dirs = {v: model_dir / str(v) for v in existing}
            check_model_files(parsed, source, {**dirs, version: tmp})
        written = [target]
        config_path = write_text_atomic(model_dir / "config.pbtxt", text)
        written.append(config_path)
        plugins = self._copy_plugins()
        written += plugins
        if self.manifest is not None:
            dest = self.output / MANIFEST_NAME
            if self.manifest.resolve() != dest.resolve():
                write_text_atomic(dest, self.manifest.read_text(encoding="utf-8"))
            written.append(dest)
        command = launch_command(CONTAINER_REPOSITORY, [Path(CONTAINER_PLUGINS) / p.name for p in plugins])
        local = launch_command("$HERE/" + MODELS_DIR, [f"$HERE/{PLUGINS_DIR}/{p.name}" for p in plugins])
        written.append(write_text_atomic(self.output / "launch.sh", _launch_script(local)))
        (self.output / "launch.sh").chmod(0o777 & ~umask())
        if self.container_tag:
            release = {"release": self.container_tag, "sure": True}
        else:
            release = container_release(self.manifest, self._tensorrt_version())
        dockerfile = _dockerfile(release, command, cfg, plugins)
        written.append(write_text_atomic(self.output / "Dockerfile", dockerfile))
        return _Written(
            self.output, self.output / MODELS_DIR, self.name, version, config_path, command, written
        )

    def _copy_plugins(self) -> list[Path]:
        libs = self._plugin_libraries()
        out = []
        for lib in libs:
            if not lib.is_file():
                raise UserError(
                    f"plugin library {lib} does not exist. `trt-pdk list` shows where the built plugin "
                    "libraries live."
                )
            dest = self.output / PLUGINS_DIR / lib.name
            from trt_pdk._fs import atomic_path

            with atomic_path(dest) as tmp:
                shutil.copy2(lib, tmp)
            out.append(dest)
        return out

    def _tensorrt_version(self) -> str | None:
        return None


class RepositoryFromEngine(_RepositoryStage):
    """A ``tensorrt_plan`` model from ``model.plan`` and its I/O description.

    Args:
        plan: the serialized engine.
        output: deployment folder (created; an existing one gains a version).
        name: model name (folder and ``config.pbtxt`` name).
        engine_io: ``engine_io.json`` path or :class:`~trt_pdk.engine.io.EngineIO`;
            default ``engine_io.json`` beside the plan.
        batching: max batch size, dynamic batching, preferred sizes (default: from the
            profiles), instances. ``max_batch_size`` defaults to the largest batch every
            profile accepts, and any other value is checked against the profiles.
        plugins: plugin libraries the engine needs; copied to ``plugins/`` and wired in
            with ``--backend-config=tensorrt,plugins=...``.
        version / version_policy / manifest / container_tag: see :class:`RepositoryFromOnnx`.
    """

    def __init__(
        self,
        plan: str | Path,
        output: str | Path,
        name: str,
        *,
        engine_io: str | Path | tc.EngineIO | None = None,
        batching: tc.BatchingOptions | None = None,
        plugins: list[str | Path] = (),
        **kwargs,
    ):
        super().__init__(output, name, batching=batching, **kwargs)
        self.plan = Path(plan)
        self.engine_io = engine_io
        self.plugins = [Path(p) for p in plugins]

    def _io(self) -> tc.EngineIO:
        if isinstance(self.engine_io, tc.EngineIO):
            return self.engine_io
        return tc.EngineIO.from_json(self.engine_io or self.plan.with_name(tc.EngineIO.FILE_NAME))

    def _version_files(self, dest: Path) -> None:
        if not self.plan.is_file():
            raise UserError(f"engine {self.plan} does not exist. Build it with the engine stage first.")
        io = self._io()
        shutil.copy2(self.plan, dest / "model.plan")
        io.write_json(dest / tc.EngineIO.FILE_NAME)

    def _config(self, tmp_version: Path):
        io = self._io()
        return tc.config_for_engine(self.name, io, self.batching, self.version_policy)

    def _plugin_libraries(self) -> list[Path]:
        return self.plugins

    def _tensorrt_version(self) -> str | None:
        try:
            return self._io().tensorrt_version
        except UserError:
            return None


class RepositoryFromOnnx(_RepositoryStage):
    """A python-backend model that runs the ONNX graph with onnxruntime on the CPU.

    The embedded default: same tensor names, dtypes and batching config as the engine of
    the same graph. The graph must run in plain onnxruntime (plugins as ONNX local
    functions, as the rewrite stage leaves them).

    Args:
        onnx_path: the ONNX model; external data files beside it are copied along.
        output: deployment folder (created; an existing one gains a version).
        name: model name.
        batching: default max batch 32, dynamic batching on, one CPU instance.
        version: version number (default: next free); an existing one is an error.
        version_policy: default ``latest { num_versions: 1 }``.
        manifest: the run's manifest (``trt-pdk lock RUN_DIR``), copied in as ``manifest.json``;
            its Triton release pins the Dockerfile's base image.
        container_tag: NGC Triton tag (``24.10``) for the Dockerfile; overrides the manifest's.
        intra_op_threads: onnxruntime threads per instance (default 1).
        execution_env: a Python environment for the stub (``EXECUTION_ENV_PATH``); default
            the environment whose ``python3`` is first on the server's PATH.
    """

    def __init__(
        self,
        onnx_path: str | Path,
        output: str | Path,
        name: str,
        *,
        batching: tc.BatchingOptions | None = None,
        intra_op_threads: int = 1,
        execution_env: str | None = None,
        **kwargs,
    ):
        super().__init__(output, name, batching=batching, **kwargs)
        self.onnx_path = Path(onnx_path)
        self.intra_op_threads = intra_op_threads
        self.execution_env = execution_env
        self.functions: list[str] = []  # plugin ops given an ONNX body for onnxruntime

    def _version_files(self, dest: Path) -> None:
        from trt_pdk.onnx_stages._model import load_onnx

        # Validated where it enters (checker, external data inside the folder and complete);
        # the weights stay on disk: they are copied, never loaded.
        model = load_onnx(self.onnx_path, load_external_data=False)
        model, self.functions = with_plugin_bodies(model)
        if self.functions:
            (dest / "model.onnx").write_bytes(model.SerializeToString())
        else:
            shutil.copy2(self.onnx_path, dest / "model.onnx")
        for rel in _external_data(model, self.onnx_path):
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(self.onnx_path.parent / rel, dest / rel)
        shutil.copy2(PYTHON_MODEL, dest / "model.py")

    def _config(self, tmp_version: Path):
        if self.batching.max_batch_size is None:
            self.batching.max_batch_size = 32
        inputs, outputs = onnx_io(self.onnx_path, batched=self.batching.max_batch_size > 0)
        params = {"onnx_file": "model.onnx", "intra_op_threads": str(self.intra_op_threads)}
        if self.execution_env:
            params["EXECUTION_ENV_PATH"] = self.execution_env
        return tc.config_for_python_onnx(
            self.name,
            inputs,
            outputs,
            self.batching,
            version_policy=self.version_policy,
            parameters=params,
        )


def repository_from_engine(plan, output, name, **kwargs) -> _Written:
    """Runs :class:`RepositoryFromEngine` now."""
    return RepositoryFromEngine(plan, output, name, **kwargs)()


def repository_from_onnx(onnx_path, output, name, **kwargs) -> _Written:
    """Runs :class:`RepositoryFromOnnx` now."""
    return RepositoryFromOnnx(onnx_path, output, name, **kwargs)()


# --------------------------------------------------------------------------- helpers


def onnx_io(path: Path, batched: bool) -> tuple[list, list]:
    """(inputs, outputs) as ``(name, TYPE_X, dims)`` from an ONNX graph, batch dim dropped if batched."""
    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:
        raise UserError(f"{path} is not a readable ONNX model: {exc}") from exc
    inits = {i.name for i in model.graph.initializer}

    def convert(values, kind):
        out = []
        for v in values:
            if v.name in inits:
                continue
            t = v.type.tensor_type
            dtype = onnx.helper.tensor_dtype_to_np_dtype(t.elem_type).name if t.elem_type else None
            if dtype is None:
                raise UserError(f"{path}: {kind} {v.name!r} has no element type.")
            dims = [d.dim_value if d.HasField("dim_value") else -1 for d in t.shape.dim]
            if batched:
                if not dims or dims[0] not in (-1,):
                    raise UserError(
                        f"{path}: {kind} {v.name!r} has shape {dims}, whose first dim is not dynamic, so "
                        "Triton cannot batch it. Export with a dynamic batch dim, or pass "
                        "--max-batch-size 0."
                    )
                dims = dims[1:]
            out.append((v.name, tc.triton_dtype(dtype), dims or [1]))
        return out

    return convert(model.graph.input, "input"), convert(model.graph.output, "output")


def _external_data(model, path: Path) -> list[str]:
    """The external data files of `model` (read from `path`), relative to its folder."""
    from onnx.external_data_helper import _get_all_tensors, uses_external_data

    rels = set()
    for t in _get_all_tensors(model):
        if uses_external_data(t):
            loc = next(e.value for e in t.external_data if e.key == "location")
            full = (path.parent / loc).resolve()
            if path.parent.resolve() not in full.parents:
                raise UserError(f"{path}: external data {loc!r} points outside the model's folder.")
            rels.add(loc)
    return sorted(rels)


def with_plugin_bodies(model):
    """`model` with an ONNX local function for every plugin op that lacks one, and those ops.

    A ``trt-pdk rewrite`` output keeps its plugin nodes bare (TensorRT reads them); the
    python backend runs the graph in plain onnxruntime, which needs each plugin's body
    (:func:`trt_pdk.onnx_stages.functions.with_cpu_functions`). A model that carries every
    body already (the pipeline's ``cpu.onnx``) is returned as it is, with no ops.
    """
    import onnx

    ops = {(n.domain, n.op_type) for n in model.graph.node if n.domain not in ONNXRUNTIME_DOMAINS}
    if ops <= {(f.domain, f.name) for f in model.functions}:
        return model, []
    from trt_pdk.onnx_stages.functions import with_cpu_functions

    bare = onnx.ModelProto()
    bare.CopyFrom(model)
    keep = [f for f in bare.functions if (f.domain, f.name) not in ops]
    del bare.functions[:]
    bare.functions.extend(keep)
    return with_cpu_functions(bare)


def _check_writable(out: Path) -> None:
    probe = out
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        raise UserError(
            f"cannot write the repository to {out}: {probe} is not a writable folder. Choose another --out."
        )


def launch_command(repository: str | Path, plugins: list[str | Path], extra: list[str] = ()) -> list[str]:
    """The ``tritonserver`` argv for a repository and plugin libraries (no shell quoting).

    Plugins go through the TensorRT backend's ``plugins`` option (``;``-separated): the
    backend dlopens them after it has loaded TensorRT, when their creators can register.
    (``LD_PRELOAD`` would load them before TensorRT is in the process: they register nothing.)
    """
    argv = ["tritonserver", f"--model-repository={repository}"]
    if plugins:
        argv.append("--backend-config=tensorrt,plugins=" + ";".join(str(p) for p in plugins))
    return [*argv, *extra]


def _launch_script(argv: list[str]) -> str:
    quoted = " ".join(a if a.startswith("--model-repository=$HERE") else _q(a) for a in argv)
    return (
        "#!/bin/sh\n# Written by trt-pdk: serves this deployment folder with a tritonserver on PATH.\n"
        'set -e\nHERE="$(cd "$(dirname "$0")" && pwd)"\n'
        f'exec {quoted} "$@"\n'
    )


def _q(arg: str) -> str:
    # Keep $HERE expandable while quoting the ';' of the plugin list.
    return '"' + arg.replace('"', '\\"') + '"' if ("$HERE" in arg or ";" in arg) else shlex.quote(arg)


def container_release(manifest: Path | None, tensorrt_version: str | None) -> dict | None:
    """The NGC Triton release to deploy in, or None when unknown.

    The manifest's (:func:`trt_pdk.lock.triton_container_of`: the release the lock recorded,
    or the one shipping the manifest's TensorRT), else the one shipping `tensorrt_version`
    (the engine's, from ``engine_io.json``). Returns ``{"release", "tensorrt", "sure", "match"}``
    as :func:`trt_pdk.lock.triton_release_for` does.
    """
    from trt_pdk.lock import load_manifest, triton_container_of, triton_release_for

    if manifest is not None:
        found = triton_container_of(load_manifest(manifest))
        if found is not None:
            return found
    return triton_release_for(tensorrt_version) if tensorrt_version else None


def _dockerfile(release: dict | None, argv: list[str], cfg, plugins: list[Path]) -> str:
    if release is None:
        base = (
            "ARG TRITON_TAG\n# Set TRITON_TAG to the NGC release whose TensorRT built the engine (see\n"
            "# the Triton framework support matrix); a mismatch fails at load (server#7613).\n"
        )
        from_line = "FROM nvcr.io/nvidia/tritonserver:${TRITON_TAG}-py3"
    else:
        tag = release["release"]
        if release.get("tensorrt"):
            base = f"# Pinned: Triton {tag} ships TensorRT {release['tensorrt']}, the engine's TensorRT"
            base += f" ({release.get('match', 'exact')} match).\n"
        else:
            base = f"# Pinned: Triton {tag}, as given.\n"
        if not release.get("sure", True):
            base += (
                "# Unverified table entry: check https://docs.nvidia.com/deeplearning/frameworks/"
                "support-matrix/ before relying on it.\n"
            )
        from_line = f"FROM nvcr.io/nvidia/tritonserver:{tag}-py3"
    lines = [
        "# Written by trt-pdk. Build: docker build -t my-model . ; run: docker run --gpus all "
        "-p 8000:8000 -p 8001:8001 -p 8002:8002 my-model",
        base.rstrip("\n"),
        from_line,
    ]
    if cfg.backend == "python":
        lines.append("RUN pip install --no-cache-dir 'numpy<2' onnxruntime")
    lines.append(f"COPY {MODELS_DIR}/ {CONTAINER_REPOSITORY}/")
    if plugins:
        lines.append(f"COPY {PLUGINS_DIR}/ {CONTAINER_PLUGINS}/")
    import json

    lines.append("CMD " + json.dumps(argv))
    return "\n".join(lines) + "\n"


def add_version_copy(repository: str | Path, name: str) -> int:
    """Re-deploys the latest version of ``name`` as a new version (a rollover of the same model).

    The copy is built beside its final place and renamed in; served versions are untouched.
    Returns the new version number.
    """
    model_dir = models_dir(repository) / name
    if not model_dir.is_dir():
        raise UserError(f"model {name!r} is not in {models_dir(repository)}.")
    existing = versions(model_dir)
    if not existing:
        raise UserError(f"{model_dir} has no version to copy.")
    new = max(existing) + 1
    with atomic_directory(model_dir / str(new)) as tmp:
        shutil.copytree(model_dir / str(max(existing)), tmp, dirs_exist_ok=True, symlinks=True)
    return new
