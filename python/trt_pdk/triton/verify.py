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
from trt_pdk.triton.server import ServerState, http_get, load_model

Reference = str | Path | dict[str, np.ndarray] | Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]


def load_arrays(path: str | Path, what: str) -> dict[str, np.ndarray]:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{what} file {path} does not exist; pass an .npz with one array per tensor name.")
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except (ValueError, OSError) as exc:
        raise UserError(f"{what} file {path} is not a readable .npz ({exc}).") from exc


def reference_outputs(reference: Reference, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Expected outputs from an .npz, an ONNX model run on CPU, a dict, or a callable."""
    if callable(reference):
        return dict(reference(inputs))
    if isinstance(reference, dict):
        return reference
    path = Path(reference)
    if path.suffix == ".onnx":
        if not path.is_file():
            raise UserError(f"reference ONNX model {path} does not exist.")
        from trt_pdk.triton.demo_model import run_onnx

        return run_onnx(path, inputs)
    return load_arrays(path, "expected outputs")


def _infer(protocol: str, url: str, model: str, inputs: dict[str, np.ndarray], outputs: list[str]):
    from trt_pdk.triton.config import client_datatype, triton_dtype

    if protocol == "http":
        import tritonclient.http as mod
    else:
        import tritonclient.grpc as mod
    client = mod.InferenceServerClient(url)
    try:
        tensors = []
        for name, arr in inputs.items():
            t = mod.InferInput(name, list(arr.shape), client_datatype(triton_dtype(arr.dtype.name)))
            t.set_data_from_numpy(np.ascontiguousarray(arr))
            tensors.append(t)
        result = client.infer(model, tensors, outputs=[mod.InferRequestedOutput(n) for n in outputs])
        return {n: result.as_numpy(n) for n in outputs}
    except Exception as exc:
        # tritonclient raises InferenceServerException for wrong names, shapes, dtypes.
        raise UserError(f"{protocol} inference on model {model!r} failed: {exc}") from exc
    finally:
        client.close()


class VerifyServing:
    """Golden inputs through HTTP and gRPC vs a reference, within ``atol + rtol*|ref|``.

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
        expected = reference_outputs(self.reference, inputs)
        urls = {"http": self.state.http_url, "grpc": self.state.grpc_url}
        max_err, passed, detail = 0.0, True, {}
        for protocol in self.protocols:
            got = _infer(protocol, urls[protocol], self.model, inputs, list(expected))
            for name, ref in expected.items():
                out = got[name]
                if out.shape != ref.shape:
                    raise UserError(
                        f"{protocol}: output {name!r} has shape {list(out.shape)}, the reference "
                        f"{list(ref.shape)}; the golden inputs and reference do not belong together."
                    )
                diff = np.abs(out.astype(np.float64) - ref.astype(np.float64))
                err = float(diff.max()) if diff.size else 0.0
                ok = bool(np.all(diff <= self.atol + self.rtol * np.abs(ref.astype(np.float64))))
                detail[f"{protocol}:{name}"] = {"max_abs_err": err, "passed": ok}
                max_err, passed = max(max_err, err), passed and ok
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
    from trt_pdk.triton.loadgen import Target, _Client, _summary

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
        out = _summary(latencies, failed, elapsed, errors)
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
