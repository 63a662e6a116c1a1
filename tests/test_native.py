"""Build facts, plugin library lookup and loading, with clear errors where things are absent."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys

import pytest

import trt_pdk
from trt_pdk.errors import UserError
from trt_pdk.native import op_binding
from trt_pdk.registry import get_spec

HAS_TENSORRT = importlib.util.find_spec("tensorrt") is not None


def test_build_info_reports_facts():
    info = trt_pdk.build_info()
    assert info["version"] == trt_pdk.__version__
    assert info["namespace"] == "trt_pdk"
    assert "RMSNorm" in info["ops"]
    assert isinstance(info["cuda"], bool)
    if info["tensorrt_headers_version"]:
        assert info["tensorrt_major"] == int(info["tensorrt_headers_version"].split(".")[0])
        assert info["interfaces"] == ["IPluginV2DynamicExt", "IPluginV3"]
        assert info["plugin_library_path"].endswith(f"libtrt_pdk_plugins_trt{info['tensorrt_major']}.so")
    else:
        assert info["tensorrt_major"] is None
        assert info["plugin_library_path"] is None
        assert info["interfaces"] == []


def test_binding_matches_spec_counts():
    spec = get_spec("RMSNorm")
    binding = op_binding(spec)
    assert binding.name == spec.name
    assert binding.num_inputs == len(spec.inputs)
    assert binding.num_outputs == len(spec.outputs)


def _plugin_package(tmp_path, monkeypatch, majors, built_library=None):
    """An importable package holding copies of the real plugin library, named as a package names it."""
    name = "pdk_libpkg_" + "".join(c if c.isalnum() else "_" for c in tmp_path.name)
    pkg = tmp_path / name
    (pkg / "lib").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    for major in majors:
        shutil.copyfile(built_library(major), pkg / "lib" / f"lib{name}_plugins_trt{major}.so")
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


def test_library_for_another_major_names_both(tmp_path, monkeypatch, built_library):
    package = _plugin_package(tmp_path, monkeypatch, [10], built_library)
    assert trt_pdk.plugin_library_path(10, package).name == f"lib{package}_plugins_trt10.so"
    with pytest.raises(UserError) as info:
        trt_pdk.plugin_library_path(11, package)
    message = str(info.value)
    assert f"built for TensorRT 10 (lib{package}_plugins_trt10.so), not for TensorRT 11" in message


def test_package_without_library_says_how_to_build(tmp_path, monkeypatch):
    package = _plugin_package(tmp_path, monkeypatch, [])
    with pytest.raises(UserError, match=r"built without TensorRT headers.*TensorRT_ROOT=.*PDK_TENSORRT=ON"):
        trt_pdk.plugin_library_path(10, package)


def test_unknown_package_is_a_user_error():
    with pytest.raises(UserError, match="not installed"):
        trt_pdk.plugin_library_path(10, "no_such_pdk_package")


def test_library_info_of_missing_or_foreign_file(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        trt_pdk.library_info(tmp_path / "absent.so")
    bogus = tmp_path / "libbogus.so"
    bogus.write_bytes(b"not an ELF file")
    with pytest.raises(UserError, match="is not a plugin library"):
        trt_pdk.library_info(bogus)


@pytest.mark.parametrize("major", [10, 11])
def test_library_info_of_built_library(built_library, major):
    for path in [built_library(major)]:
        info = trt_pdk.library_info(path)
        assert info["tensorrt_major"] == major
        assert info["namespace"] == "trt_pdk"
        rms = next(p for p in info["plugins"] if p["name"] == "RMSNorm")
        assert sorted(rms["versions"]) == ["1", "2"]
        json.dumps(info)


@pytest.mark.skipif(HAS_TENSORRT, reason="tensorrt imports here; this checks the message when it does not")
def test_load_plugins_without_tensorrt_says_so():
    with pytest.raises(UserError) as info:
        trt_pdk.load_plugins()
    message = str(info.value)
    assert message.startswith("TensorRT is absent: `import tensorrt` failed")
    assert "pip install tensorrt" in message


@pytest.mark.tensorrt
@pytest.mark.skipif(not HAS_TENSORRT, reason="needs `import tensorrt`")
def test_load_plugins_registers_creators():
    import tensorrt as trt

    try:
        paths = trt_pdk.load_plugins()
    except UserError as exc:
        pytest.skip(str(exc))
    assert paths
    registry = trt.get_plugin_registry()
    creators = registry.all_creators if hasattr(registry, "all_creators") else registry.plugin_creator_list
    names = {(c.name, c.plugin_version, c.plugin_namespace) for c in creators}
    assert ("RMSNorm", "2", "trt_pdk") in names
    assert ("RMSNorm", "1", "trt_pdk") in names


def test_import_trt_pdk_is_lazy():
    import subprocess

    modules = ("torch", "tensorrt", "trt_pdk._C", "onnx")
    code = f"import sys, trt_pdk; print([m for m in {modules!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True, text=True)
    assert out.stdout.strip() == "[]"


def test_public_api_resolves():
    assert sorted(trt_pdk.__all__) == sorted(trt_pdk._EXPORTS)
    for name in trt_pdk.__all__:
        assert getattr(trt_pdk, name) is not None
    with pytest.raises(AttributeError):
        _ = trt_pdk.no_such_name


class _FakeRegistry:
    def __init__(self):
        self.loaded = []

    def load_library(self, path):
        self.loaded.append(path)
        return object()


@pytest.fixture
def fake_tensorrt(monkeypatch):
    """A stand-in `tensorrt` module: checks load_plugins' version logic without TensorRT."""
    import types

    from trt_pdk import native

    module = types.ModuleType("tensorrt")
    module.registry = _FakeRegistry()
    module.get_plugin_registry = lambda: module.registry
    monkeypatch.setitem(sys.modules, "tensorrt", module)
    monkeypatch.setattr(native, "_loaded", {})
    native.tensorrt_version.cache_clear()
    yield module
    native.tensorrt_version.cache_clear()


def test_load_plugins_for_a_major_that_was_not_built(fake_tensorrt, tmp_path, monkeypatch, built_library):
    package = _plugin_package(tmp_path, monkeypatch, [11], built_library)
    fake_tensorrt.__version__ = "10.9.0.34"
    with pytest.raises(UserError) as info:
        trt_pdk.load_plugins([package])
    message = str(info.value)
    assert "the running TensorRT is 10.9.0.34" in message
    assert f"built for TensorRT 11 (lib{package}_plugins_trt11.so), not for TensorRT 10" in message
    assert fake_tensorrt.registry.loaded == []


def test_load_plugins_loads_the_library_of_the_running_major_once(
    fake_tensorrt, tmp_path, monkeypatch, built_library
):
    package = _plugin_package(tmp_path, monkeypatch, [10, 11], built_library)
    fake_tensorrt.__version__ = "11.1.0"
    first = trt_pdk.load_plugins([package])
    second = trt_pdk.load_plugins([package])
    assert [p.name for p in first] == [f"lib{package}_plugins_trt11.so"]
    assert first == second
    assert fake_tensorrt.registry.loaded == [str(first[0])]
    assert trt_pdk.plugin_library_path(package=package) == first[0]


def test_output_upper_bounds_replace_data_dependent_dims():
    """What the CUDA path allocates before launching: -1 dims become the shape rule's bound."""
    compact = op_binding(get_spec("MaskedCompact"))
    assert compact.output_shapes({}, [[7, 3], [7]]) == [[-1, 3], []]
    assert compact.output_upper_bounds({}, [[7, 3], [7]]) == [[7, 3], []]
    gelu = op_binding(get_spec("FusedBiasGelu"))
    assert gelu.output_upper_bounds({}, [[2, 5], [5]]) == gelu.output_shapes({}, [[2, 5], [5]])
