"""``trt-pdk triton repo|serve|stop|status|verify``: model repositories and the embedded server."""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path

from trt_pdk.errors import UserError
from trt_pdk.options import add_options, options_from_args
from trt_pdk.pipeline.stages.repository import RepositoryOptions
from trt_pdk.pipeline.stages.serve import ServeOptions
from trt_pdk.pipeline.stages.verify import VerifyOptions


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "triton",
        help="write Triton model repositories, run the embedded server, verify a served model",
        description="Triton model repositories, the embedded tritonserver (127.0.0.1), verification.",
    )
    sub = p.add_subparsers(dest="triton_command", metavar="ACTION", required=True)

    r = sub.add_parser("repo", help="write (or add a version to) a deployment folder")
    src = r.add_mutually_exclusive_group(required=True)
    src.add_argument("--onnx", type=Path, help="ONNX model: python-backend CPU model (onnxruntime)")
    src.add_argument("--engine", type=Path, help="TensorRT model.plan: tensorrt_plan model")
    r.add_argument("--engine-io", type=Path, help="engine I/O JSON (default: engine_io.json beside the plan)")
    r.add_argument("--out", type=Path, required=True, help="deployment folder (models/, Dockerfile, ...)")
    r.add_argument("--version", type=int, help="version number (default: next free; existing ones are kept)")
    r.add_argument("--version-policy", default="latest:1", help="latest:N | all | specific:1,2")
    r.add_argument("--plugin", type=Path, action="append", default=[], help="plugin library (repeatable)")
    r.add_argument("--manifest", type=Path, help="run manifest/lock to copy along")
    r.add_argument("--container-tag", help="NGC Triton tag for the Dockerfile, e.g. 24.10")
    r.add_argument("--execution-env", help="EXECUTION_ENV_PATH for the python stub (onnx only)")
    add_options(r, RepositoryOptions, "repository options (YAML section `repository`)")
    r.set_defaults(func=_repo)

    s = sub.add_parser("serve", help="start the embedded tritonserver on a repository")
    s.add_argument("--repository", type=Path, required=True, help="deployment folder or model repository")
    s.add_argument("--run-dir", type=Path, required=True, help="log, state file and backends folder")
    s.add_argument("--model", action="append", help="model to load (default: all; repeatable)")
    s.add_argument("--detach", action="store_true", help="return once ready; stop with `triton stop`")
    add_options(s, ServeOptions, "serve options (YAML section `serve`)")
    s.add_argument(
        "--python-env",
        type=Path,
        help="Python environment the models run in; needs numpy<2 and onnxruntime (default: the environment "
        "holding $TRT_PDK_TRITON_ROOT's nvidia-pytriton, else this one)",
    )
    s.set_defaults(func=_serve)

    st = sub.add_parser("stop", help="stop a detached server (SIGTERM, then SIGKILL)")
    st.add_argument("--run-dir", type=Path, required=True)
    st.add_argument("--timeout", type=float, default=10.0)
    st.set_defaults(func=_stop)

    ss = sub.add_parser("status", help="print a run folder's server state and models as JSON")
    ss.add_argument("--run-dir", type=Path, required=True)
    ss.set_defaults(func=_status)

    v = sub.add_parser("verify", help="golden inputs via HTTP and gRPC vs a reference; version rollover")
    v.add_argument("--run-dir", type=Path, required=True, help="run folder of a running server")
    v.add_argument("--model", required=True)
    v.add_argument("--inputs", type=Path, required=True, help=".npz of golden inputs (one array per input)")
    ref = v.add_mutually_exclusive_group(required=True)
    ref.add_argument("--expected", type=Path, help=".npz of expected outputs")
    ref.add_argument("--reference-onnx", type=Path, help="ONNX model to run on CPU as the reference")
    add_options(v, VerifyOptions, "verify options (YAML section `verify`)")
    v.add_argument("--rollover", action="store_true", help="also add a version under load; 0 failures")
    v.add_argument("--out", type=Path, help="write the JSON result here too")
    v.set_defaults(func=_verify)


def _version_policy(text: str):
    from trt_pdk.triton.config import VersionPolicy

    kind, _, rest = text.partition(":")
    try:
        if kind == "latest":
            return VersionPolicy("latest", num_versions=int(rest or 1))
        if kind == "all":
            return VersionPolicy("all")
        if kind == "specific":
            return VersionPolicy("specific", versions=[int(v) for v in rest.split(",") if v])
    except ValueError:
        pass
    raise UserError(f"--version-policy {text!r}: use latest:N, all, or specific:1,2.")


def _repo(args) -> int:
    from trt_pdk.triton.repository import RepositoryFromEngine, RepositoryFromOnnx

    options = options_from_args(RepositoryOptions, args)
    common = {
        "version": args.version,
        "version_policy": _version_policy(args.version_policy),
        "manifest": args.manifest,
        "container_tag": args.container_tag,
    }
    if args.engine:
        stage = RepositoryFromEngine(
            args.engine,
            args.out,
            options.model_name,
            engine_io=args.engine_io,
            batching=options.batching(),
            plugins=args.plugin,
            **common,
        )
    else:
        if args.plugin:
            raise UserError(
                "--plugin applies to --engine; an ONNX model carries its plugins as local functions."
            )
        stage = RepositoryFromOnnx(
            args.onnx,
            args.out,
            options.model_name,
            batching=options.batching(),
            execution_env=args.execution_env,
            **common,
        )
    written = stage().to_dict()
    if getattr(stage, "functions", None):
        written["functions"] = stage.functions  # plugin ops given their ONNX body for onnxruntime
    print(json.dumps(written, indent=2))
    return 0


def _serve(args) -> int:
    from dataclasses import asdict

    from trt_pdk.triton.server import TritonServer

    options = options_from_args(ServeOptions, args)
    server = TritonServer(
        args.repository,
        args.run_dir,
        models=args.model,
        http_port=options.http_port,
        grpc_port=options.grpc_port,
        metrics_port=options.metrics_port,
        detached=args.detach,
        python_env=args.python_env,
        ready_timeout=options.ready_timeout,
    )
    state = server.start()
    print(json.dumps({"ready": True, **asdict(state)}, indent=2), flush=True)
    if args.detach:
        return 0
    # Foreground: serve until Ctrl-C / SIGTERM, then stop the server we started.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        while server.process is not None and server.process.poll() is None:
            time.sleep(0.5)
        code = server.process.returncode if server.process else 0
        print(f"tritonserver exited with code {code}; log: {state.log}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        server.stop()
        return 0


def _interrupt(*_args) -> None:
    raise KeyboardInterrupt


def _stop(args) -> int:
    from trt_pdk.triton.server import STATE_FILE, pid_alive, read_state, reap_orphan_stubs, terminate

    state = read_state(args.run_dir)
    if state is None:
        raise UserError(f"no server state ({STATE_FILE}) in {args.run_dir}: nothing was served from there.")
    if not pid_alive(state.pid):
        reap_orphan_stubs(args.run_dir)  # a killed server leaves its python-backend stubs running
        (Path(args.run_dir) / STATE_FILE).unlink(missing_ok=True)
        print(json.dumps({"stopped": False, "pid": state.pid, "reason": "not running"}))
        return 0
    terminate(state.pid, args.timeout)
    reap_orphan_stubs(args.run_dir)
    (Path(args.run_dir) / STATE_FILE).unlink(missing_ok=True)
    print(json.dumps({"stopped": True, "pid": state.pid}))
    return 0


def _status(args) -> int:
    from trt_pdk.triton.server import server_status

    status = server_status(args.run_dir)
    print(json.dumps(status, indent=2))
    return 0 if status["running"] else 1


def _verify(args) -> int:
    from trt_pdk._fs import write_text_atomic
    from trt_pdk.triton.repository import add_version_copy
    from trt_pdk.triton.server import pid_alive, read_state
    from trt_pdk.triton.verify import VerifyServing, load_arrays, verify_rollover

    state = read_state(args.run_dir)
    if state is None or not pid_alive(state.pid):
        raise UserError(
            f"no running server in {args.run_dir}; start one with `trt-pdk triton serve --repository DIR "
            f"--run-dir {args.run_dir} --detach`."
        )
    options = options_from_args(VerifyOptions, args)
    inputs = load_arrays(args.inputs, "golden inputs")
    result = VerifyServing(
        state,
        args.model,
        inputs,
        args.expected or args.reference_onnx,
        atol=options.atol,
        rtol=options.rtol,
    )()
    if args.rollover:
        roll = verify_rollover(
            state, args.model, inputs, lambda: add_version_copy(state.repository, args.model)
        )
        result["rollover"] = roll
        result["passed"] = result["passed"] and roll["passed"]
    text = json.dumps(result, indent=2)
    if args.out:
        write_text_atomic(args.out, text + "\n")
    print(text)
    return 0 if result["passed"] else 1
