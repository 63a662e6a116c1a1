"""Checks a served model: golden inputs through HTTP and gRPC against a reference, and a
version rollover under load with zero failed requests.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from trt_pdk.errors import UserError
from trt_pdk.execution.compare import compare_outputs
from trt_pdk.execution.runners import TritonRunner
from trt_pdk.triton.server import ServerState, http_get, load_model

Reference = str | Path | dict[str, np.ndarray] | Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]


def load_arrays(path: str | Path, what: str) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` (or one ``.npy``); UserError for anything else."""
    import zipfile

    path = Path(path)
    if not path.is_file():
        kind = "a folder" if path.is_dir() else "missing"
        raise UserError(
            f"{what} file {path} is {kind}; pass an .npz with one array per tensor name "
            "(numpy.savez(path, x=array, ...))."
        )
    try:
        loaded = np.load(path, allow_pickle=False)
        if isinstance(loaded, np.ndarray):
            raise UserError(
                f"{what} file {path} holds one unnamed array; save an .npz that names each tensor: "
                "numpy.savez(path, x=array, ...)."
            )
        with loaded as data:
            arrays = {k: data[k] for k in data.files}
    except UserError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise UserError(
            f"{what} file {path} is not a readable .npz ({type(exc).__name__}: {str(exc)[:200]}); save it "
            "with numpy.savez(path, x=array, ...)."
        ) from None
    if not arrays:
        raise UserError(f"{what} file {path} holds no array; save one per tensor name.")
    return arrays


def served_io(state: ServerState, model: str) -> dict:
    """The served model's inputs, outputs (name, datatype, shape with -1) and max batch size."""
    from tritonclient import http
    from tritonclient.utils import InferenceServerException

    client = http.InferenceServerClient(state.http_url)
    try:
        meta = client.get_model_metadata(model)
        config = client.get_model_config(model)
    except InferenceServerException as exc:
        from trt_pdk.triton.server import repository_index

        names = sorted({e.get("name", "?") for e in repository_index(state.http_port)})
        raise UserError(
            f"model {model!r} is not served at {state.http_url} ({exc.message()}); the server has: "
            f"{', '.join(names) or 'no model'}. Pass one of those to --model."
        ) from None
    except OSError as exc:
        raise UserError(
            f"the server at {state.http_url} does not answer ({exc}); check `trt-pdk triton status`."
        ) from None
    finally:
        client.close()
    return {
        "inputs": meta.get("inputs", []),
        "outputs": meta.get("outputs", []),
        "max_batch_size": int(config.get("max_batch_size", 0) or 0),
    }


def check_inputs(inputs: dict[str, np.ndarray], io: dict, model: str) -> None:
    """Raises UserError unless `inputs` match the served model's names, dtypes and shapes."""
    from trt_pdk.triton.config import client_datatype, triton_dtype

    wanted = {t["name"]: t for t in io["inputs"]}
    show = ", ".join(f"{n} {t['datatype']} {t['shape']}" for n, t in wanted.items())
    missing, unknown = sorted(set(wanted) - set(inputs)), sorted(set(inputs) - set(wanted))
    if missing or unknown:
        raise UserError(
            f"the golden inputs name {sorted(inputs)}, model {model!r} takes {sorted(wanted)}"
            f"{'; missing: ' + ', '.join(missing) if missing else ''}"
            f"{'; unknown: ' + ', '.join(unknown) if unknown else ''}. Save one array per input: {show}."
        )
    for name, arr in inputs.items():
        spec = wanted[name]
        try:
            datatype = client_datatype(triton_dtype(arr.dtype.name))
        except UserError:
            datatype = arr.dtype.name
        if datatype != spec["datatype"]:
            raise UserError(
                f"golden input {name!r} is {arr.dtype.name}"
                f"{f' ({datatype})' if datatype != arr.dtype.name else ''}, model {model!r} takes "
                f"{spec['datatype']}; save it as that type (array.astype(...))."
            )
        shape = [int(d) for d in spec["shape"]]
        fits = arr.ndim == len(shape) and all(d in (-1, n) for d, n in zip(shape, arr.shape, strict=True))
        if not fits:
            raise UserError(
                f"golden input {name!r} has shape {list(arr.shape)}, model {model!r} takes {shape} "
                "(-1: any size). Save inputs of that shape."
            )
        if io["max_batch_size"] and arr.ndim and arr.shape[0] > io["max_batch_size"]:
            raise UserError(
                f"golden input {name!r} has a batch of {arr.shape[0]}, model {model!r} takes at most "
                f"{io['max_batch_size']} (max_batch_size). Send a smaller batch."
            )


def check_expected(expected: dict[str, np.ndarray], io: dict, model: str) -> None:
    """Raises UserError unless every expected output is one the served model returns."""
    served = [t["name"] for t in io["outputs"]]
    unknown = sorted(set(expected) - set(served))
    if unknown:
        raise UserError(
            f"the reference has outputs {sorted(expected)}, but model {model!r} returns {served}; "
            f"{', '.join(unknown)} is not among them. Pass a reference of this model."
        )
    for name, ref in expected.items():
        if ref.dtype.kind not in "biuf":
            raise UserError(
                f"the reference output {name!r} is {ref.dtype.name}, not numbers; verify compares numeric "
                "outputs. Save the expected outputs as numeric arrays."
            )


def check_reference_onnx(path: Path, inputs: dict[str, np.ndarray]) -> None:
    """Validates a reference ONNX model where it enters (as every stage does) and its inputs."""
    from trt_pdk.onnx_stages._model import load_onnx

    model = load_onnx(path, load_external_data=False)
    inits = {i.name for i in model.graph.initializer}
    takes = [vi.name for vi in model.graph.input if vi.name not in inits]
    if set(takes) != set(inputs):
        raise UserError(
            f"the reference model {path} takes inputs {sorted(takes)}, the golden inputs are "
            f"{sorted(inputs)}; pass the ONNX model that is being served."
        )
    # Plugin nodes run through their op's ONNX body (attached by the execution layer, as
    # the served copy carries it); a node no discovered plugin provides is refused there.


def reference_outputs(reference: Reference, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Expected outputs from an .npz, an ONNX model run on CPU, a dict, or a callable.

    An ONNX reference runs in onnxruntime through the execution layer (plugin nodes via
    their ONNX bodies, external data checked to stay inside the model's folder).
    """
    if callable(reference):
        return dict(reference(inputs))
    if isinstance(reference, dict):
        return reference
    path = Path(reference)
    if path.suffix == ".onnx":
        check_reference_onnx(path, inputs)
        from trt_pdk.execution import OnnxRuntimeRunner

        return OnnxRuntimeRunner(path)(inputs)
    return load_arrays(path, "expected outputs")


class VerifyServing:
    """Golden inputs through HTTP and gRPC vs a reference, within ``atol + rtol*|ref|``
    (the execution layer's comparator: a NaN matches only a NaN at the same position).

    Args:
        state: the running server (:func:`trt_pdk.triton.server.read_state` or ``TritonServer.state``).
        model: model name.
        inputs: golden inputs, .npz path or dict of arrays (batch dim included).
        reference: expected outputs: .npz path, ONNX path (run on CPU), dict, or callable.
        atol / rtol: tolerances (defaults 1e-4 / 1e-3).
        protocols: default both ``("http", "grpc")``.

    Calling it returns ``{"passed", "protocols", "max_abs_err", "outputs": {...}}``.
    """

    def __init__(
        self,
        state: ServerState,
        model: str,
        inputs: str | Path | dict[str, np.ndarray],
        reference: Reference,
        *,
        atol: float = 1e-4,
        rtol: float = 1e-3,
        protocols: tuple[str, ...] = ("http", "grpc"),
    ):
        self.state, self.model = state, model
        self.inputs, self.reference = inputs, reference
        self.atol, self.rtol, self.protocols = atol, rtol, tuple(protocols)

    def __call__(self) -> dict:
        inputs = self.inputs if isinstance(self.inputs, dict) else load_arrays(self.inputs, "golden inputs")
        io = served_io(self.state, self.model)
        check_inputs(inputs, io, self.model)
        expected = reference_outputs(self.reference, inputs)
        check_expected(expected, io, self.model)
        urls = {"http": self.state.http_url, "grpc": self.state.grpc_url}
        max_err, passed, detail = 0.0, True, {}
        for protocol in self.protocols:
            got = TritonRunner(protocol, urls[protocol], self.model, list(expected))(inputs)
            for error in compare_outputs(
                got, expected, {str(got[n].dtype): (self.atol, self.rtol) for n in got}
            ):
                if error.reason.startswith("shape"):
                    raise UserError(
                        f"{protocol}: output {error.name!r} has {error.reason}; the golden inputs and "
                        f"reference do not belong together."
                    )
                detail[f"{protocol}:{error.name}"] = {
                    "max_abs_err": error.max_abs,
                    "max_rel_err": error.max_rel,
                    "mismatches": error.mismatches,
                    "nan_mismatches": error.nan_mismatches,
                    "passed": error.ok,
                }
                max_err, passed = max(max_err, error.max_abs), passed and error.ok
        return {
            "passed": passed,
            "protocols": list(self.protocols),
            "max_abs_err": max_err,
            "atol": self.atol,
            "rtol": self.rtol,
            "outputs": detail,
        }


def verify_rollover(
    state: ServerState,
    model: str,
    inputs: dict[str, np.ndarray],
    add_version: Callable[[], int],
    *,
    concurrency: int = 4,
    max_seconds: float = 30.0,
    settle_seconds: float = 0.5,
    protocol: str = "grpc",
) -> dict:
    """Loads a new model version while a bounded load runs; counts failed requests.

    ``add_version()`` writes the new version into the repository and returns its number
    (e.g. :func:`trt_pdk.triton.repository.add_version_copy`). The load runs until the new
    version is ready and the old one is gone, plus ``settle_seconds``, and at most
    ``max_seconds``. Passed means zero failed requests and the new version serving.
    """
    from trt_pdk.triton.loadgen import Target, _Client, latency_summary

    target = Target(model, inputs, state.http_url, state.grpc_url, protocol=protocol)

    async def run() -> dict:
        client = _Client(target)
        latencies, errors = [], []
        failed = 0
        done = asyncio.Event()
        deadline = time.perf_counter() + max_seconds

        async def worker():
            nonlocal failed
            while not done.is_set() and time.perf_counter() < deadline:
                t0 = time.perf_counter()
                try:
                    await client.infer()
                except Exception as exc:
                    failed += 1
                    errors.append(f"{type(exc).__name__}: {str(exc)[:200]}")
                    await asyncio.sleep(0.01)
                    continue
                latencies.append(time.perf_counter() - t0)

        async def roll() -> tuple[int, float, str | None]:
            await asyncio.sleep(0.3)  # the load is flowing before the new version arrives
            t0 = time.perf_counter()
            version = await asyncio.to_thread(add_version)
            error = None
            try:
                await asyncio.to_thread(load_model, state, model, None, max_seconds)
                while time.perf_counter() < deadline:
                    ready = http_get(state.http_port, f"/v2/models/{model}/versions/{version}/ready") == 200
                    if ready and await asyncio.to_thread(_only_version_ready, state, model, version):
                        break
                    await asyncio.sleep(0.05)
                else:
                    error = f"version {version} was not the only ready version within {max_seconds:.0f} s"
            except UserError as exc:
                error = str(exc)
            took = time.perf_counter() - t0
            await asyncio.sleep(settle_seconds)
            done.set()
            return version, took, error

        start = time.perf_counter()
        workers = [asyncio.ensure_future(worker()) for _ in range(concurrency)]
        version, took, error = await roll()
        await asyncio.gather(*workers)
        await client.close()
        elapsed = time.perf_counter() - start
        out = latency_summary(latencies, failed, elapsed, errors)
        out.update({"to_version": version, "rollover_s": round(took, 3), "error": error})
        return out

    result = asyncio.run(run())
    result["passed"] = result["failed"] == 0 and result["error"] is None and result["succeeded"] > 0
    return result


def _only_version_ready(state: ServerState, model: str, version: int) -> bool:
    from trt_pdk.triton.server import repository_index

    ready = [
        e for e in repository_index(state.http_port) if e.get("name") == model and e.get("state") == "READY"
    ]
    return [str(e.get("version")) for e in ready] == [str(version)]
