"""Scaffolding: a standalone plugin package rendered from the kit's cookiecutter template.

``trt-pdk new`` calls :func:`package_from_template`. The template lives in ``cookiecutter/``
of the source tree and installs as ``trt_pdk/cookiecutter``; the names it derives (folder,
package, C++ struct, torch op, ONNX op_type and namespace) and the attribute syntax are
defined once, in the template's own ``trt_pdk_template.py``, which this module also uses to
validate the arguments before anything is written.

Example::

    path = package_from_template("SoftClip", "plugins-dev", attrs=["alpha:float=0.5"])
"""

from __future__ import annotations

import contextlib
import importlib.util
import itertools
import os
import shlex
import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path
from types import ModuleType
from typing import Any

from trt_pdk.errors import UserError

HELPER = "trt_pdk_template"  # the template's helper module (cookiecutter.json `_extensions`)


def template_dir() -> Path:
    """The template folder: installed inside the package, or ``cookiecutter/`` of a source tree."""
    installed = Path(str(resources.files("trt_pdk"))) / "cookiecutter"
    source = Path(__file__).resolve().parents[2] / "cookiecutter"
    for candidate in (installed, source):
        if (candidate / "cookiecutter.json").is_file():
            return candidate
    raise UserError(
        f"the plugin-package template is missing (looked in {installed} and {source}); "
        f"reinstall trt-pdk (`pip install --no-build-isolation .` from its source tree)"
    )


def _helper(template: Path) -> ModuleType:
    """The template's ``trt_pdk_template`` module, loaded from `template` (one per path)."""
    module = sys.modules.get(HELPER)
    path = template / f"{HELPER}.py"
    if module is not None and Path(getattr(module, "__file__", "")) == path:
        return module
    spec = importlib.util.spec_from_file_location(HELPER, path)
    if spec is None or spec.loader is None:
        raise UserError(f"cannot load {path}; reinstall trt-pdk")
    module = importlib.util.module_from_spec(spec)
    sys.modules[HELPER] = module  # cookiecutter imports the same name while rendering
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def _on_sys_path(folder: Path) -> Iterator[None]:
    sys.path.insert(0, str(folder))
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(str(folder))


@dataclass(frozen=True)
class Names:
    """What one package's options derive to (the template derives the same)."""

    name: str
    package: str
    folder: str
    distribution: str
    attrs: str
    inputs: int
    outputs: int


def check_options(
    name: str,
    *,
    inputs: int | str = 1,
    outputs: int | str = 1,
    attrs: Sequence[str] | None = None,
    package_name: str | None = None,
    check_clash: bool = True,
    template: Path | None = None,
) -> Names:
    """Validates the template options; raises UserError saying what to change.

    Args:
        name: the op name, a CamelCase C++ identifier (TensorRT plugin name, ONNX op_type).
        inputs, outputs: tensor counts, 1 to 8.
        attrs: ``name:type[=default]`` items; ``None`` keeps the template's default
            (``alpha:float=1.0``), ``[]`` gives an op without attributes.
        package_name: the Python package (and C++/plugin namespace); default: snake_case of name.
        check_clash: reject names of discovered plugins and importable modules.
        template: the template folder (default: :func:`template_dir`).
    """
    template = template or template_dir()
    helper = _helper(template)
    try:
        folder = helper.check_name(name)
        package = helper.check_package(package_name or folder)
        n_in = helper.check_count("inputs", inputs)
        n_out = helper.check_count("outputs", outputs)
        if attrs is None:
            attrs_text = _template_default(template, "attrs")
        else:
            attrs_text = ", ".join(a.strip() for a in attrs if a.strip())
        helper.parse_attrs(attrs_text, n_in, n_out)
    except helper.TemplateError as exc:
        raise UserError(str(exc)) from None
    names = Names(name, package, folder, package.replace("_", "-"), attrs_text, n_in, n_out)
    if check_clash:
        _check_clash(names, helper)
    return names


def _template_default(template: Path, key: str) -> str:
    import json

    return str(json.loads((template / "cookiecutter.json").read_text())[key])


def _check_clash(names: Names, helper: ModuleType) -> None:
    from trt_pdk.registry import discover_all

    plugins, _ = discover_all()
    for plugin in plugins:
        other = plugin.spec.name
        if other == names.name or helper.snake_case(other) == names.folder:
            raise UserError(
                f"the op name {names.name!r} clashes with the installed plugin {other!r} ({plugin.source}); "
                f"choose another name"
            )
    if importlib.util.find_spec(names.package) is not None:
        raise UserError(
            f"a Python module named {names.package!r} is already importable; the new package would "
            f"clash with it. Choose another op name or --package-name"
        )
    with contextlib.suppress(metadata.PackageNotFoundError):
        dist = metadata.distribution(names.distribution)
        raise UserError(
            f"a distribution named {names.distribution!r} ({dist.version}) is already installed; "
            f"choose another op name or --package-name"
        )


def package_from_template(
    name: str,
    output_dir: str | os.PathLike[str] = ".",
    *,
    inputs: int | str = 1,
    outputs: int | str = 1,
    attrs: Sequence[str] | None = None,
    package_name: str | None = None,
    no_input: bool = True,
    check_clash: bool = True,
    template: str | os.PathLike[str] | None = None,
) -> Path:
    """Renders the template into ``<output_dir>/<package>`` and returns that folder.

    Args:
        name, inputs, outputs, attrs, package_name, check_clash: see :func:`check_options`.
        output_dir: where the package folder is created (it must not exist yet).
        no_input: use the given values; ``False`` asks for each option (cookiecutter prompts).
        template: the template folder (default: the installed one, :func:`template_dir`).

    Raises:
        UserError: invalid options or the folder exists; nothing is written then. The folder
            appears complete or not at all (rendered beside it, then renamed).
    """
    from cookiecutter.generate import generate_context, generate_files
    from cookiecutter.prompt import prompt_for_config

    import trt_pdk

    template = Path(template) if template is not None else template_dir()
    names = check_options(
        name,
        inputs=inputs,
        outputs=outputs,
        attrs=attrs,
        package_name=package_name,
        check_clash=check_clash,
        template=template,
    )
    out = Path(output_dir)
    if out.exists() and not out.is_dir():
        raise UserError(f"--output-dir {out} is not a folder")
    extra = {
        "name": names.name,
        "package_name": names.package,
        "inputs": str(names.inputs),
        "outputs": str(names.outputs),
        "attrs": names.attrs,
        "__kit_version": trt_pdk.__version__,
    }
    with _on_sys_path(template):
        context = generate_context(str(template / "cookiecutter.json"), extra_context=extra)
        config: dict[str, Any] = dict(prompt_for_config(context, no_input=no_input))
        if not no_input:  # the answers may differ from the arguments: check them again
            names = check_options(
                config["name"],
                inputs=config["inputs"],
                outputs=config["outputs"],
                attrs=[config["attrs"]] if config["attrs"].strip() else [],
                package_name=config["package_name"],
                check_clash=check_clash,
                template=template,
            )
        target = out / names.package
        if target.exists():
            raise UserError(
                f"{target} already exists; nothing was written. Remove it or choose another --output-dir"
            )
        out.mkdir(parents=True, exist_ok=True)
        config["_template"] = str(template)
        config["_output_dir"] = str(out.resolve())
        config["_repo_dir"] = str(template)
        context["cookiecutter"] = config
        staging = Path(tempfile.mkdtemp(prefix=".trt-pdk-new-", dir=out))
        try:
            generate_files(repo_dir=str(template), context=context, output_dir=str(staging))
            rendered = staging / names.package
            if target.exists():
                raise UserError(f"{target} appeared while rendering; nothing was written")
            rendered.rename(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return target.resolve()


# What `pip install --no-build-isolation <package>` needs in the environment besides the kit
# itself: the kit declares them as dependencies (pyproject.toml), so only an environment where
# they were removed or downgraded lacks them.
BUILD_TOOLS = {"scikit-build-core": (0, 10), "pybind11": (2, 12), "cmake": (4, 0), "ninja": (1, 10)}


def _release(version: str) -> tuple[int, ...]:
    parts = []
    for piece in version.split("."):
        digits = "".join(itertools.takewhile(str.isdigit, piece))
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


def missing_build_tools() -> list[str]:
    """Requirements (``"cmake>=4.0"``) of a plugin package's build that this environment lacks."""
    missing = []
    for name, minimum in BUILD_TOOLS.items():
        requirement = f"{name}>={'.'.join(map(str, minimum))}"
        try:
            if _release(metadata.version(name)) < minimum:
                missing.append(requirement)
        except metadata.PackageNotFoundError:
            missing.append(requirement)
    return missing


def next_commands(name: str, folder: Path) -> list[str]:
    """The commands that build a new package, list it, run the kit's tests and its own tests.

    They work verbatim in an environment holding the kit and its dependencies (a missing
    build tool adds the ``pip install`` that brings it, first). The package installs with its
    ``test`` extra (pytest, torch, onnxruntime), which ``trt-pdk test`` and ``pytest`` need.
    """
    try:
        shown = os.path.relpath(folder)
    except ValueError:
        shown = str(folder)
    if not shown.startswith((".", os.sep)):
        shown = f".{os.sep}{shown}"
    commands = []
    missing = missing_build_tools()
    if missing:
        commands.append(f"pip install {' '.join(shlex.quote(r) for r in missing)}")
    return [
        *commands,
        f"pip install --no-build-isolation {shlex.quote(shown + '[test]')}",
        "trt-pdk list",
        f"trt-pdk test {name}",
        f"cd {shlex.quote(shown)} && pytest",
    ]
