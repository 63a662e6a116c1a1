"""Facts of the real plugin library, read from its file: `trt-pdk doctor --library`, the lock.

Every test runs on the library built against TensorRT 10.16 and 11.1 headers (the
``built_library`` fixture: PDK_TEST_LIBRARIES, which .ci/run sets, or the installed kit's),
renamed, so nothing can come from the file name.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from trt_pdk.errors import UserError
from trt_pdk.lock import library_facts, refuse_wrong_major
from trt_pdk.lock._elf import read_section
from trt_pdk.registry import discover

MAJORS = (10, 11)


def _renamed(built_library, major: int, tmp_path: Path) -> Path:
    copy = tmp_path / "whatever-name.so.7"
    shutil.copyfile(built_library(major), copy)
    return copy


def _declared_plugins() -> dict[str, list[str]]:
    """Name -> plugin versions, as the kit's Python specs declare them."""
    return {s.name: list(s.versions) for s in discover().values() if s.namespace == "trt_pdk"}


@pytest.mark.parametrize("major", MAJORS)
def test_doctor_library_json_names_major_version_and_plugins(cli, built_library, tmp_path, major):
    lib = _renamed(built_library, major, tmp_path)
    proc = cli("doctor", "--library", str(lib), "--json")
    assert proc.returncode == 0, proc.stderr.decode()
    facts = json.loads(proc.stdout)
    assert facts["tensorrt_major"] == major
    assert facts["tensorrt_version"].startswith(f"{major}.")
    assert facts["namespace"] == "trt_pdk" and facts["name"] == lib.name
    assert {p["name"]: p["versions"] for p in facts["plugins"]} == _declared_plugins()
    interfaces = {p["name"]: p["interfaces"] for p in facts["plugins"]}
    assert interfaces["MaskedCompact"] == ["IPluginV3"]
    assert interfaces["RMSNorm"] == ["IPluginV2DynamicExt", "IPluginV3"]
    assert facts["kit_version"] and facts["cuda_archs"] is not None


@pytest.mark.parametrize("major", MAJORS)
def test_doctor_library_table(cli, built_library, tmp_path, major):
    lib = _renamed(built_library, major, tmp_path)
    proc = cli("doctor", "--library", str(lib))
    out = proc.stdout.decode()
    assert proc.returncode == 0, proc.stderr.decode()
    assert f"(major {major}; loads only under TensorRT {major}.x)" in out
    assert "MaskedCompact    plugin_version '2'  IPluginV3" in out
    assert "FusedBiasGelu    plugin_version '1'  IPluginV2DynamicExt" in out


@pytest.mark.parametrize("major", MAJORS)
def test_reading_facts_does_not_load_the_library(built_library, tmp_path, major):
    lib = _renamed(built_library, major, tmp_path)
    assert library_facts(lib)["has_info"]
    maps = Path("/proc/self/maps").read_text()
    assert str(lib) not in maps


@pytest.mark.parametrize("major", MAJORS)
def test_section_is_what_pdk_library_info_returns(built_library, tmp_path, major):
    """The bytes read from the file equal what the loaded library returns (no TensorRT here)."""
    lib = _renamed(built_library, major, tmp_path)
    script = (
        "import ctypes, sys; f = ctypes.CDLL(sys.argv[1]).pdkLibraryInfo; f.restype = ctypes.c_char_p; "
        "sys.stdout.buffer.write(f())"
    )
    loaded = subprocess.run([sys.executable, "-c", script, str(lib)], capture_output=True, check=True).stdout
    assert read_section(lib, ".trt_pdk_info").rstrip(b"\x00") == loaded


@pytest.mark.parametrize("major", MAJORS)
def test_section_reader_agrees_with_binutils_and_survives_strip(built_library, tmp_path, major):
    objcopy, strip = shutil.which("objcopy"), shutil.which("strip")
    if not objcopy or not strip:
        pytest.skip("binutils (objcopy, strip) are not installed: apt-get install binutils")
    lib = _renamed(built_library, major, tmp_path)
    dumped = tmp_path / "section.bin"
    subprocess.run(
        [objcopy, "-O", "binary", "--only-section=.trt_pdk_info", str(lib), str(dumped)], check=True
    )
    assert read_section(lib, ".trt_pdk_info") == dumped.read_bytes()
    subprocess.run([strip, "--strip-all", str(lib)], check=True)
    assert library_facts(lib)["tensorrt_major"] == major


def test_wrong_major_is_refused_whatever_the_file_name(built_library, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    lib10 = _renamed(built_library, 10, tmp_path / "a")
    lib11 = _renamed(built_library, 11, tmp_path / "b")
    with pytest.raises(UserError, match=r"built for TensorRT 10 \(10\.16\.0\).*running TensorRT is 11\.1\.0"):
        refuse_wrong_major(lib10, "11.1.0")
    with pytest.raises(UserError, match=r"built for TensorRT 11 \(11\.1\.0\).*running TensorRT is 10\.16\.0"):
        refuse_wrong_major(lib11, "10.16.0")
    assert refuse_wrong_major(lib10, "10.8.0")["tensorrt_major"] == 10


def test_doctor_library_on_files_without_facts(cli, tmp_path):
    import _ctypes  # a real ELF shared object that trt-pdk did not build

    proc = cli("doctor", "--library", _ctypes.__file__, "--json")
    assert proc.returncode == 1
    facts = json.loads(proc.stdout)
    assert facts["has_info"] is False and facts["tensorrt_major"] is None and facts["problem"] is None
    text = tmp_path / "notes.so"
    text.write_text("not a library")
    proc = cli("doctor", "--library", str(text))
    assert proc.returncode == 1 and "not a plugin library" in proc.stdout.decode()
    proc = cli("doctor", "--library", str(tmp_path / "absent.so"))
    assert proc.returncode == 2 and "does not exist" in proc.stderr.decode()
    assert "Traceback" not in proc.stderr.decode()
