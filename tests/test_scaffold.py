"""`trt-pdk new`: the cookiecutter template renders, validates its options and builds.

The fast tests render the working tree's template (``cookiecutter/``) and check names,
lint and the generated Python; the slow test pip-installs rendered packages into this
environment against the installed kit, runs their own pytest and ``trt-pdk test``, and
uninstalls them again.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

from trt_pdk.errors import UserError
from trt_pdk.scaffold import check_options, missing_build_tools, next_commands, package_from_template

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = REPO / "cookiecutter"

# (name, inputs, outputs, attrs): the option combinations every fast test renders.
COMBINATIONS = {
    "default": ("SoftClip", 1, 1, None),
    "one_float": ("SoftClip", 1, 1, ["alpha:float=0.5"]),
    "no_attrs": ("PlainAct", 2, 1, []),
    "multi": ("MultiAct", 3, 2, ["alpha:float=0.5", "n:int=2", "mode:str=fast|exact"]),
    "int_first": ("IntScale", 1, 3, ["k:int=-3", "mode:str=only"]),
    "longest": (
        "VeryLongOperatorNameForTestLines",
        8,
        8,
        [
            "a_very_long_attribute_nm:float=0.1",
            "another_long_attribute_n:int=-3",
            "third_long_attribute_nam:float=2",
            "choice_attribute_long_nm:str=first_choice|second_choice|third_choice",
        ],
    ),
}


def _render(tmp_path: Path, key: str, **kwargs) -> Path:
    name, inputs, outputs, attrs = COMBINATIONS[key]
    return package_from_template(
        name, tmp_path, inputs=inputs, outputs=outputs, attrs=attrs, template=TEMPLATE, **kwargs
    )


def _tool(name: str) -> str | None:
    found = Path(sys.executable).parent / name
    return str(found) if found.is_file() else shutil.which(name)


def _load_module(folder: Path, file: str):
    (path,) = folder.glob(f"plugins/*/{file}")
    module_spec = importlib.util.spec_from_file_location(f"_scaffold_{folder.name}_{path.stem}", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def _load_spec(folder: Path):
    return _load_module(folder, "spec.py").SPEC


def _check_onnx_function(folder: Path, spec, torch) -> int:
    """The template's standard-ONNX body, as a plain graph in onnxruntime, matches the reference
    on every case (bfloat16 cases are left to the built package's harness); returns the runs."""
    ort = pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper

    body = _load_module(folder, "onnx_function.py").onnx_function
    onnx_types = {"float32": TensorProto.FLOAT, "float16": TensorProto.FLOAT16}
    runs = 0
    for case in spec.cases:
        if case.dtypes[0] not in onnx_types:
            continue
        attrs = spec.resolve_attrs(case.attrs)
        names, outputs, nodes = body(attrs, len(case.dtypes))
        assert names == [t.name for t in spec.inputs] and outputs == [t.name for t in spec.outputs]
        dtype = onnx_types[case.dtypes[0]]
        graph = helper.make_graph(
            nodes,
            "body",
            [helper.make_tensor_value_info(n, dtype, None) for n in names],
            [helper.make_tensor_value_info(n, dtype, None) for n in outputs],
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=10)
        session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        for shapes in case.points():
            generator = torch.Generator().manual_seed(sum(sum(s) for s in shapes))
            xs = [
                (torch.randn(s, generator=generator) * 4).to(getattr(torch, d))
                for s, d in zip(shapes, case.dtypes, strict=True)
            ]
            got = session.run(None, {n: x.numpy() for n, x in zip(names, xs, strict=True)})
            ys = spec.reference(*xs, **attrs)
            ys = list(ys) if isinstance(ys, tuple) else [ys]
            tol = spec.tolerance_for(case, case.dtypes[0])
            for g, y in zip(got, ys, strict=True):
                torch.testing.assert_close(torch.from_numpy(g), y, atol=tol.atol, rtol=tol.rtol)
            runs += 1
    return runs


def test_names_derive_consistently(tmp_path):
    folder = _render(tmp_path, "one_float")
    assert folder == (tmp_path / "soft_clip").resolve()
    op = folder / "plugins" / "soft_clip"
    expected = {
        "soft_clip.h",
        "soft_clip_math.h",
        "soft_clip_cpu.cpp",
        "soft_clip.cu",
        "spec.py",
        "onnx_function.py",
        "pattern.py",
        "README.md",
        "test_soft_clip.py",
    }
    assert {p.name for p in op.iterdir()} == expected
    for path in ("pyproject.toml", "CMakeLists.txt", "README.md", ".clang-format", "tests/test_plugins.py"):
        assert (folder / path).is_file(), path
    assert (folder / "python" / "soft_clip" / "__init__.py").is_file()
    assert not list(tmp_path.glob(".trt-pdk-new-*")), "the staging folder was left behind"

    project = tomllib.loads((folder / "pyproject.toml").read_text())
    assert project["project"]["name"] == "soft-clip"
    entry_points = project["project"]["entry-points"]["trt_pdk.plugins"]
    assert entry_points == {"soft_clip": "soft_clip.plugins.soft_clip.spec:SPEC"}
    assert project["tool"]["scikit-build"]["wheel"]["packages"] == ["python/soft_clip"]
    requires = project["build-system"]["requires"]
    assert any(r.startswith("trt-pdk>=") for r in requires), requires

    cmake = (folder / "CMakeLists.txt").read_text()
    assert "find_package(trt_pdk" in cmake
    assert "OP soft_clip::SoftClip HEADER soft_clip/soft_clip.h" in cmake
    assert "LIBRARY_BASENAME soft_clip_plugins" in cmake
    assert "PYTHON spec.py onnx_function.py pattern.py" in cmake
    header = (op / "soft_clip.h").read_text()
    assert "namespace soft_clip {" in header
    assert "struct SoftClip : pdk::OpDefaults, pdk::FloatSameAsFirstInput<SoftClip> {" in header
    assert 'kName = "SoftClip"' in header
    assert "float alpha = 0.5f;" in header

    spec = _load_spec(folder)
    assert (spec.name, spec.namespace, spec.torch_qualname) == (
        "SoftClip",
        "soft_clip",
        "soft_clip::soft_clip",
    )
    assert (spec.native_module, spec.library_package) == ("soft_clip._C", "soft_clip")
    assert [(a.name, a.type, a.default) for a in spec.attrs] == [("alpha", "float32", 0.5)]
    assert spec.versions == ("1", "2")


@pytest.mark.parametrize("key", sorted(COMBINATIONS))
def test_every_combination_renders_a_valid_lint_clean_package(tmp_path, key):
    folder = _render(tmp_path, key, check_clash=False)
    ruff = _tool("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (requirements/ci.txt pins it)")
    for args in (["check", "--no-cache", "."], ["format", "--no-cache", "--check", "--diff", "."]):
        result = subprocess.run([ruff, *args], cwd=folder, capture_output=True, text=True, check=False)
        assert result.returncode == 0, f"ruff {args[0]}:\n{result.stdout}{result.stderr}"
    clang_format = _tool("clang-format")
    if clang_format is not None:
        for source in sorted(folder.glob("plugins/*/*")):
            if source.suffix in {".h", ".cpp", ".cu"}:
                result = subprocess.run(
                    [clang_format, "--dry-run", "-Werror", "--style=file", str(source)],
                    cwd=folder,
                    capture_output=True,
                    text=True,
                    check=False,
                )
                assert result.returncode == 0, f"clang-format {source.name}:\n{result.stderr}"

    # The generated spec is a valid PluginSpec and its PyTorch reference runs on every case.
    torch = pytest.importorskip("torch")
    spec = _load_spec(folder)
    name, inputs, outputs, _ = COMBINATIONS[key]
    assert (spec.name, len(spec.inputs), len(spec.outputs)) == (name, inputs, outputs)
    for case in spec.cases:
        shapes = case.points()[-1]
        xs = [torch.randn(s).to(getattr(torch, d)) for s, d in zip(shapes, case.dtypes, strict=True)]
        ys = spec.reference(*xs, **spec.resolve_attrs(case.attrs))
        ys = list(ys) if isinstance(ys, tuple) else [ys]
        assert [(tuple(y.shape), y.dtype) for y in ys] == [(shapes[0], xs[0].dtype)] * outputs
        assert all(torch.isfinite(y.float()).all() for y in ys)
    from trt_pdk.patterns import patterns_of

    assert bool(patterns_of(spec)) == (outputs == 1)
    assert spec.onnx_function is not None
    assert _check_onnx_function(folder, spec, torch) > 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "softClip"}, "not a C\\+\\+ identifier in CamelCase"),
        ({"name": "Soft_Clip"}, "not a C\\+\\+ identifier in CamelCase"),
        ({"name": "2Clip"}, "not a C\\+\\+ identifier in CamelCase"),
        ({"name": "Soft-Clip"}, "not a C\\+\\+ identifier in CamelCase"),
        ({"name": "Common"}, "reserved"),
        ({"name": "RMSNorm"}, "clashes with the installed plugin 'RMSNorm'"),
        ({"name": "RmsNorm"}, "clashes with the installed plugin 'RMSNorm'"),
        ({"name": "Yaml"}, "module named 'yaml' is already importable"),
        ({"inputs": 0}, "1 to 8"),
        ({"outputs": "many"}, "whole number"),
        ({"attrs": ["alpha"]}, "name:type\\[=default\\]"),
        ({"attrs": ["alpha:double"]}, "not one of float, int, str"),
        ({"attrs": ["alpha:float=big"]}, "not a number"),
        ({"attrs": ["alpha:float=inf"]}, "finite"),
        ({"attrs": ["n:int=2.5"]}, "not an integer"),
        ({"attrs": ["n:int=3000000000"]}, "int32"),
        ({"attrs": ["mode:str"]}, "needs its choices"),
        ({"attrs": ["mode:str=a|a"]}, "distinct"),
        ({"attrs": ["x:float"]}, "name of an input or output"),
        ({"attrs": ["plugin_version:int"]}, "reserved"),
        ({"attrs": ["class:int"]}, "reserved"),
        ({"attrs": ["Alpha:float"]}, "snake_case"),
        ({"attrs": ["alpha:float", "alpha:int"]}, "given twice"),
        ({"package_name": "Bad-Name"}, "snake_case"),
    ],
)
def test_bad_options_are_rejected_clearly(tmp_path, kwargs, message):
    options = {"name": "SoftClip", **kwargs}
    with pytest.raises(UserError, match=message):
        package_from_template(output_dir=tmp_path, template=TEMPLATE, **options)
    assert list(tmp_path.iterdir()) == [], "nothing may be written for bad options"


def test_an_existing_folder_is_not_touched(tmp_path):
    existing = tmp_path / "soft_clip"
    existing.mkdir()
    (existing / "keep.txt").write_text("mine")
    with pytest.raises(UserError, match="already exists; nothing was written"):
        package_from_template("SoftClip", tmp_path, template=TEMPLATE)
    assert [p.name for p in tmp_path.iterdir()] == ["soft_clip"]
    assert [p.name for p in existing.iterdir()] == ["keep.txt"]
    assert (existing / "keep.txt").read_text() == "mine"


def test_check_options_derives_names_once():
    names = check_options("RMSNormTwo", attrs=["eps:float=1e-6"], check_clash=False, template=TEMPLATE)
    assert (names.package, names.folder, names.distribution) == (
        "rms_norm_two",
        "rms_norm_two",
        "rms-norm-two",
    )
    assert names.attrs == "eps:float=1e-6"


def test_next_commands_name_the_folder(tmp_path):
    folder = tmp_path / "soft_clip"
    commands = next_commands("SoftClip", folder)
    assert missing_build_tools() == []  # the kit's dependencies bring them
    assert commands[0].startswith("pip install --no-build-isolation '")
    assert commands[0].endswith("soft_clip[test]'")
    assert commands[1:3] == ["trt-pdk list", "trt-pdk test SoftClip"]
    assert commands[3].startswith("cd ") and commands[3].endswith("soft_clip && pytest")


def test_next_commands_install_a_missing_build_tool_first(tmp_path, monkeypatch):
    from importlib import metadata

    real_version = metadata.version

    def version(name):
        if name == "cmake":
            return "3.31.6"
        if name == "ninja":
            raise metadata.PackageNotFoundError(name)
        return real_version(name)

    monkeypatch.setattr(metadata, "version", version)
    assert missing_build_tools() == ["cmake>=4.0", "ninja>=1.10"]
    commands = next_commands("SoftClip", tmp_path / "soft_clip")
    assert commands[0] == "pip install 'cmake>=4.0' 'ninja>=1.10'"
    assert commands[1].startswith("pip install --no-build-isolation ")


def test_cli_prints_the_package_folder_last(cli, tmp_path):
    result = cli("new", "SoftClip", "--attr", "alpha:float=0.5", "-o", str(tmp_path), "--no-input")
    assert result.returncode == 0, result.stderr.decode()
    lines = result.stdout.decode().strip().splitlines()
    assert lines[-1] == str((tmp_path / "soft_clip").resolve())
    assert any("trt-pdk test SoftClip" in line for line in lines)
    assert (tmp_path / "soft_clip" / "plugins" / "soft_clip" / "soft_clip.cu").is_file()

    again = cli("new", "SoftClip", "-o", str(tmp_path), "--no-input")
    assert again.returncode == 2
    assert b"already exists" in again.stderr and b"Traceback" not in again.stderr
    bad = cli("new", "soft_clip", "-o", str(tmp_path), "--no-input")
    assert bad.returncode == 2
    assert b"CamelCase" in bad.stderr and b"Traceback" not in bad.stderr


# ---- slow: build, install, test, uninstall ----------------------------------------------

# Two renders build CUDA kernels (one architecture), one builds without CUDA to save time.
BUILDS = {
    "ScaffoldSoftClip": (1, 1, ["alpha:float=0.5"], {}),
    "ScaffoldMultiOut": (3, 2, ["alpha:float=0.5", "n:int=2", "mode:str=fast|exact"], {}),
    "ScaffoldPlain": (2, 1, [], {"PDK_CUDA": "OFF"}),
}


def _run(args: list[str], cwd: Path, env: dict[str, str], timeout: int = 900) -> None:
    result = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if result.returncode != 0:
        output = (result.stdout + result.stderr)[-6000:]
        pytest.fail(f"`{' '.join(args)}` exited with {result.returncode}:\n{output}", pytrace=False)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(BUILDS))
def test_generated_package_builds_and_passes_its_tests(tmp_path, name):
    inputs, outputs, attrs, build_env = BUILDS[name]
    python = sys.executable
    distribution = None
    subprocess.run([python, "-m", "pip", "uninstall", "-y", "-q", name], capture_output=True, check=False)
    folder = package_from_template(
        name, tmp_path, inputs=inputs, outputs=outputs, attrs=attrs, template=TEMPLATE
    )
    distribution = folder.name.replace("_", "-")
    env = {**os.environ, "CUDAARCHS": os.environ.get("CUDAARCHS", "90"), "PDK_WERROR": "ON", **build_env}
    env.pop("PYTEST_ADDOPTS", None)
    try:
        _run(
            [python, "-m", "pip", "install", "-q", "--no-build-isolation", "--no-deps", str(folder)],
            tmp_path,
            env,
        )
        _run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider"], folder, env)
        _run([python, "-m", "trt_pdk", "test", name, "-q"], tmp_path, env)
        # The standard-ONNX body runs in plain onnxruntime: passes, not skipped.
        checked = subprocess.run(
            [python, "-m", "trt_pdk", "test", name, "--backend", "onnxruntime", "--json"],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        assert checked.returncode == 0, checked.stdout[-4000:] + checked.stderr[-2000:]
        rows = [r for r in json.loads(checked.stdout)["results"] if r["check"] == "onnxruntime"]
        assert rows and all(r["status"] == "pass" for r in rows), rows
        listed = subprocess.run(
            [python, "-m", "trt_pdk", "list"], capture_output=True, text=True, env=env, check=True
        )
        assert name in listed.stdout
    finally:
        subprocess.run(
            [python, "-m", "pip", "uninstall", "-y", "-q", distribution], capture_output=True, check=False
        )
