"""OnnxFromTorch: a whole PyTorch model (``module:factory``) to ONNX, with the plugins' translations.

(``trt_pdk.onnx_export`` is the other side: one op's ONNX schema, export translation and
one-node graphs, which this stage puts together for a whole model.)

``FACTORY()`` returns ``(module, example_inputs_tuple)``; ``MODULE`` is a dotted module
name on ``sys.path`` or a path to a ``.py`` file. A checkpoint is loaded with
``weights_only=True`` into the factory's module. The module is put in ``eval()``; the
opset is pinned (default 18, dynamo's own); dynamic axes come from the user's labels.

Example::

    log = OnnxFromTorch("tests/models/mlp.py:make", opset=18, dynamic=["x:0=batch"])("mlp.onnx")
    print(log["opset"], log["ops"])

Torch is imported when the stage runs, never at import.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import inspect
import io
import json
import logging
import os
import re
import sys
import time
import warnings
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from trt_pdk._fs import write_text_atomic
from trt_pdk.errors import UserError, strip_ansi
from trt_pdk.onnx_stages import _model
from trt_pdk.plugin_nodes import DEFAULT_PLUGIN_VERSION

DEFAULT_OPSET = 18
_DYNAMIC = re.compile(
    r"^(?P<input>[A-Za-z_][A-Za-z0-9_]*):(?P<axis>-?\d+)=(?P<label>[A-Za-z_][A-Za-z0-9_]*)$"
)


def load_factory(reference: str) -> Any:
    """Resolves ``MODULE:FACTORY`` (dotted module or ``.py`` path) to the factory callable."""
    module_name, sep, attr = reference.rpartition(":")
    if not sep or not module_name or not attr:
        raise UserError(
            f"{reference!r} is not MODULE:FACTORY; write e.g. `my_models:make_model` or "
            f"`path/to/model.py:make`."
        )
    if module_name.endswith(".py") or os.sep in module_name or "/" in module_name:
        path = Path(module_name)
        if not path.is_file():
            raise UserError(f"{reference}: the file {path} does not exist.")
        name = f"_trt_pdk_reference_{abs(hash(str(path.resolve())))}"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise UserError(f"{reference}: {path} cannot be imported as a Python module.")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except SystemExit as exc:
            sys.modules.pop(name, None)
            raise UserError(f"{reference}: importing {path} {_exit_text(exc)}") from None
        except Exception as exc:
            sys.modules.pop(name, None)
            raise UserError(
                f"{reference}: importing {path} raised {type(exc).__name__}: {_first_line(exc)}"
            ) from None
    else:
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise UserError(
                f"{reference}: cannot import {module_name!r} ({exc}). Put it on sys.path or pass the "
                f".py file path."
            ) from None
        except SystemExit as exc:
            raise UserError(f"{reference}: importing {module_name} {_exit_text(exc)}") from None
        except Exception as exc:
            raise UserError(
                f"{reference}: importing {module_name} raised {type(exc).__name__}: {_first_line(exc)}"
            ) from None
    factory = getattr(module, attr, None)
    if not callable(factory):
        raise UserError(f"{reference}: {module_name} has no callable {attr!r}.")
    return factory


def module_from_factory(
    reference: str, checkpoint: str | os.PathLike[str] | None = None
) -> tuple[Any, tuple]:
    """Calls the factory, loads `checkpoint` (``weights_only=True``), returns ``(module, inputs)``.

    The module is in ``eval()``.
    """
    import torch

    factory = load_factory(reference)
    try:
        produced = factory()
    except SystemExit as exc:
        raise UserError(
            f"{reference}: the factory {_exit_text(exc)}. A factory must return (module, "
            f"example_inputs_tuple); raise an exception with a message instead of exiting."
        ) from None
    except Exception as exc:
        raise UserError(
            f"{reference}: the factory raised {type(exc).__name__}: {_first_line(exc)}. Fix the factory; "
            f"it must return (module, example_inputs_tuple)."
        ) from None
    if not (isinstance(produced, tuple) and len(produced) == 2 and isinstance(produced[0], torch.nn.Module)):
        raise UserError(
            f"{reference}: the factory returned {type(produced).__name__}; it must return "
            f"(nn.Module, example_inputs_tuple)."
        )
    module, inputs = produced
    inputs = tuple(inputs) if isinstance(inputs, list | tuple) else (inputs,)
    if checkpoint is not None:
        _load_checkpoint(module, Path(checkpoint))
    module.eval()
    return module, inputs


def _load_checkpoint(module: Any, path: Path) -> None:
    import torch

    if not path.is_file():
        raise UserError(f"checkpoint {path} does not exist.")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise UserError(
            f"checkpoint {path} cannot be loaded with weights_only=True ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''}). Save a state_dict: "
            f"torch.save(model.state_dict(), path)."
        ) from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    try:
        module.load_state_dict(state, strict=True)
    except Exception as exc:
        flat = " ".join(str(exc).split())
        raise UserError(f"checkpoint {path} does not fit the factory's module: {flat}") from None


def parse_dynamic(
    items: Sequence[str], module: Any, n_inputs: int, ranks: Sequence[int] | None = None
) -> dict[str, dict[int, str]]:
    """``["x:0=batch", ...]`` to ``{input: {axis: label}}`` keyed by forward()'s parameter names.

    With `ranks` (the example inputs' ranks) axes are checked and negative ones counted
    from the end (``x:-1`` of a rank-3 input is axis 2).
    """
    params = [
        p.name
        for p in inspect.signature(module.forward).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ][:n_inputs]
    out: dict[str, dict[int, str]] = {}
    for item in items:
        match = _DYNAMIC.match(item)
        if not match:
            raise UserError(f"--dynamic {item!r}: write INPUT:AXIS=LABEL, e.g. x:0=batch.")
        name = match["input"]
        if name not in params:
            raise UserError(
                f"--dynamic {item}: forward() has no input {name!r}; its inputs are {', '.join(params)}."
            )
        axis = int(match["axis"])
        if ranks is not None:
            rank = ranks[params.index(name)]
            if not -rank <= axis < rank:
                raise UserError(
                    f"--dynamic {item}: the example input {name} has rank {rank}, so its axes are "
                    f"0..{rank - 1} (or -{rank}..-1 from the end)."
                    if rank
                    else f"--dynamic {item}: the example input {name} is a scalar; it has no axis."
                )
            axis %= rank
        if out.get(name, {}).get(axis, match["label"]) != match["label"]:
            raise UserError(
                f"--dynamic {item}: axis {axis} of {name} is already labelled {out[name][axis]!r}; "
                f"give each axis one label."
            )
        out.setdefault(name, {})[axis] = match["label"]
    return out


def check_dynamic_axes(model: Any, dynamic: dict[str, dict[int, str]]) -> None:
    """Raises UserError when an axis asked to be dynamic came out static in the exported graph.

    torch.export fixes an axis silently when the example's size there is 0 or 1, or when the
    computation requires that size (a weight of that size, a reshape to a constant).
    """
    by_name = {vi.name: vi for vi in model.graph.input}
    for name, axes in dynamic.items():
        vi = by_name.get(name)
        if vi is None:
            continue  # an input the exporter folded away is reported by its own warning
        dims = vi.type.tensor_type.shape.dim
        for axis, label in sorted(axes.items()):
            if axis < len(dims) and dims[axis].HasField("dim_value"):
                size = dims[axis].dim_value
                why = (
                    f"the example input has size {size} there and torch treats sizes 0 and 1 as "
                    f"static: give an example with a size of at least 2"
                    if size in (0, 1)
                    else "the model's computation requires that size (e.g. a weight or a reshape "
                    "of that size): only axes the model computes generically can be dynamic"
                )
                raise UserError(
                    f"--dynamic {name}:{axis}={label}: the exporter made axis {axis} of {name} static "
                    f"({size}) instead of dynamic; {why}. Nothing was written."
                )


class OnnxFromTorch:
    """The export stage.

    Args:
        reference: ``MODULE:FACTORY``.
        checkpoint: optional state_dict file loaded with ``weights_only=True``.
        opset: ONNX opset (default 18). Below 18 onnx's version converter runs and may fail.
        dynamic: ``["INPUT:AXIS=LABEL", ...]``.
        legacy: use the TorchScript exporter (only when asked; no plugin translations).
        plugin_version: ``"2"`` (IPluginV3, default) or ``"1"`` for plugin nodes.
        specs: plugins whose torch ops are translated; default: every discovered plugin.
    """

    def __init__(
        self,
        reference: str,
        *,
        checkpoint: str | os.PathLike[str] | None = None,
        opset: int = DEFAULT_OPSET,
        dynamic: Sequence[str] = (),
        legacy: bool = False,
        plugin_version: str = DEFAULT_PLUGIN_VERSION,
        specs: Any = None,
    ) -> None:
        self.reference = reference
        self.checkpoint = checkpoint
        self.opset = int(opset)
        self.dynamic = list(dynamic)
        self.legacy = legacy
        self.plugin_version = plugin_version
        self.specs = specs

    def __call__(self, output: str | os.PathLike[str]) -> dict[str, Any]:
        """Exports to `output` (atomically) and writes ``<output>.export.json``; returns the log."""
        import torch

        output = Path(output)
        if self.opset < 7 or self.opset > 23:
            raise UserError(f"--opset {self.opset}: choose an opset between 7 and 23 (18 is dynamo's own).")
        t0 = time.perf_counter()
        module, inputs = module_from_factory(self.reference, self.checkpoint)
        ranks = [getattr(value, "dim", lambda: 0)() for value in inputs]
        dynamic = parse_dynamic(self.dynamic, module, len(inputs), ranks)
        captured = io.StringIO()
        handler = logging.StreamHandler(captured)
        # torch's own handlers print to the terminal; the log file keeps what they say instead.
        import torch.onnx  # sets up torch's log handlers before they are swapped

        loggers = {
            name: logging.getLogger(name)
            for name in ("torch", "onnxscript", "onnx_ir", *logging.Logger.manager.loggerDict)
            if name.split(".")[0] in ("torch", "onnxscript", "onnx_ir")
        }
        saved = {name: (lg.handlers[:], lg.propagate) for name, lg in loggers.items()}
        for lg in loggers.values():
            lg.handlers = [handler]
            lg.propagate = False
        try:
            # torch.export prints graph dumps straight to stderr on failure: keep them in the log.
            with (
                warnings.catch_warnings(record=True) as caught,
                contextlib.redirect_stdout(captured),
                contextlib.redirect_stderr(captured),
            ):
                warnings.simplefilter("always")
                model = self._export(torch, module, inputs, dynamic)
        except UserError:
            raise
        except Exception as exc:
            exporter = "legacy" if self.legacy else "dynamo"
            log = _write_failure_log(output, exc, captured.getvalue())
            raise UserError(
                f"exporting {self.reference} failed ({exporter} exporter, opset {self.opset}): "
                f"{export_failure_summary(exc)} Full log: {log}."
            ) from None
        finally:
            for name, lg in loggers.items():
                lg.handlers, lg.propagate = saved[name]
        opset = _model.default_opset(model)
        messages = [f"{w.category.__name__}: {w.message}" for w in caught] + [
            line for line in captured.getvalue().splitlines() if line.strip()
        ]
        if opset != self.opset:
            converter = [m for m in messages if "convert" in m.lower() or "version" in m.lower()]
            raise UserError(
                f"asked for opset {self.opset} but the export is at opset {opset}: onnx's version converter "
                f"could not convert this graph ({'; '.join(converter[:3]) or 'no reason given'}). "
                f"Known case: "
                f"ReduceMean with computed axes. Export at opset 18 (dynamo's own) or higher instead."
            )
        check_dynamic_axes(model, dynamic)
        model.ir_version = min(model.ir_version, _model.IR_VERSION)
        _model.save_onnx(model, output)
        log = {
            "reference": self.reference,
            "checkpoint": str(self.checkpoint) if self.checkpoint else None,
            "output": str(output),
            "exporter": "legacy" if self.legacy else "dynamo",
            "torch": torch.__version__,
            "opset": opset,
            "ir_version": model.ir_version,
            "dynamic": {k: {str(a): lbl for a, lbl in v.items()} for k, v in dynamic.items()},
            "inputs": [_value_info(v) for v in model.graph.input],
            "outputs": [_value_info(v) for v in model.graph.output],
            "ops": dict(sorted(Counter(_op_key(n) for n in model.graph.node).items())),
            "nodes": len(model.graph.node),
            "warnings": _dedupe(messages)[:50],
            "seconds": round(time.perf_counter() - t0, 3),
        }
        write_text_atomic(log_path(output), json.dumps(log, indent=2) + "\n")
        return log

    def _export(self, torch: Any, module: Any, inputs: tuple, dynamic: dict[str, dict[int, str]]) -> Any:
        if self.legacy:
            params = list(inspect.signature(module.forward).parameters)[: len(inputs)]
            buffer = io.BytesIO()
            torch.onnx.export(
                module,
                inputs,
                buffer,
                dynamo=False,
                opset_version=self.opset,
                input_names=params,
                dynamic_axes=dynamic or None,
            )
            import onnx

            return onnx.load_model_from_string(buffer.getvalue())
        from trt_pdk.onnx_export import translation_table

        specs = self.specs
        if specs is None:
            from trt_pdk.registry import discover

            specs = list(discover().values())
        table: dict[Any, Any] = {}
        for spec in specs:
            # A plugin built as IPluginV3 only keeps version 2 when V2 is asked for.
            version = self.plugin_version if self.plugin_version in spec.versions else DEFAULT_PLUGIN_VERSION
            if version != self.plugin_version:
                warnings.warn(
                    f"{spec.name} has no plugin version {self.plugin_version}; its nodes use "
                    f"version {version}",
                    UserWarning,
                    stacklevel=2,
                )
            table.update(translation_table([spec], version))
        program = torch.onnx.export(
            module,
            inputs,
            dynamo=True,
            custom_translation_table=table,
            dynamic_shapes=_dynamic_shapes(module, inputs, dynamic) if dynamic else None,
            opset_version=self.opset,
            verbose=False,
        )
        return program.model_proto


def _dynamic_shapes(module: Any, inputs: tuple, dynamic: dict[str, dict[int, str]]) -> dict[str, Any]:
    from torch.export import Dim

    params = list(inspect.signature(module.forward).parameters)[: len(inputs)]
    dims: dict[str, Any] = {}
    out: dict[str, Any] = {}
    for name in params:
        axes = dynamic.get(name)
        out[name] = {a: dims.setdefault(lbl, Dim(lbl)) for a, lbl in axes.items()} if axes else None
    return out


def export_failure_summary(exc: BaseException) -> str:
    """torch's export error in a few sentences: the cause, where in the model, torch's advice.

    torch's own message is dozens of lines with terminal colours, its advice first and the
    cause below; this keeps the cause, the model line that raised it and the first advice.
    """
    text = strip_ansi(str(exc)).strip()
    lines = [line.rstrip() for line in text.splitlines()]
    head = lines[0] if lines else ""
    cause = ""
    if "## Exception summary" in lines:
        rest = [x for x in lines[lines.index("## Exception summary") + 1 :] if x.strip()]
        cause = re.sub(r"<class '(?:[\w.]+\.)?(\w+)'>", r"\1", rest[0]) if rest else ""
    where = ""
    marker = "The following call raised this error:"
    if marker in lines:
        at = lines.index(marker)
        frame = lines[at + 1 : at + 3]
        if frame:
            where = " Raised at " + frame[0].strip().removeprefix("File ").replace('"', "")
            where += f": `{frame[1].strip()}`." if len(frame) > 1 and frame[1].strip() else "."
    advice = next((x[2:].strip() for x in lines[1:] if x.startswith("- ")), "")
    step = re.search(r"step (\d)/(\d)", head)
    parts = []
    if step:
        stage = re.split(r"\.\s", head)[0].strip()
        parts.append(f"{stage} (step {step[1]} of {step[2]}).")
    parts.append(f"{cause or type(exc).__name__ + ': ' + head}".strip().rstrip(".") + ".")
    if where:
        parts.append(where.strip())
    if advice:
        parts.append(advice if advice.endswith(".") else advice + ".")
    return " ".join(" ".join(parts).split())


def _write_failure_log(output: Path, exc: BaseException, captured: str) -> Path:
    """Everything the exporter said, its error and traceback: beside `output`, else the cache folder."""
    import traceback

    from trt_pdk.errors import crash_folder

    trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    text = strip_ansi(captured) + "\n" + strip_ansi(trace)
    name = output.name + ".export.log"
    for folder in (output.parent, crash_folder().parent / "logs"):
        try:
            if folder == output.parent and not folder.is_dir():
                continue  # a failed export creates no folder
            folder.mkdir(parents=True, exist_ok=True)
            return write_text_atomic(folder / name, text)
        except (OSError, UserError):
            continue
    return Path("(not written: no writable folder)")


def log_path(output: str | os.PathLike[str]) -> Path:
    """Where the export log of `output` goes: ``<output>.export.json``."""
    output = Path(output)
    return output.with_name(output.name + ".export.json")


def _op_key(node: Any) -> str:
    return f"{node.domain}::{node.op_type}" if node.domain not in ("", "ai.onnx") else node.op_type


def _value_info(vi: Any) -> dict[str, Any]:
    tt = vi.type.tensor_type
    dims = [d.dim_param or d.dim_value for d in tt.shape.dim]
    import onnx

    return {"name": vi.name, "dtype": onnx.helper.tensor_dtype_to_np_dtype(tt.elem_type).name, "shape": dims}


def _exit_text(exc: SystemExit) -> str:
    """What a ``sys.exit(...)`` in user code said, for a message."""
    if exc.code is None or isinstance(exc.code, int):
        return f"called sys.exit({'' if exc.code is None else exc.code}) without a message"
    return f"called sys.exit with the message {str(exc.code)!r}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""


def _dedupe(items: list[str]) -> list[str]:
    seen: set[str] = set()
    return [x for x in items if not (x in seen or seen.add(x))]
