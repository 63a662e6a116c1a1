"""The explicit plugin lists agree with the folders on disk."""

from __future__ import annotations

import re

import tomllib


def _folders(repo):
    return sorted(p.name for p in (repo / "plugins").iterdir() if p.is_dir() and p.name != "common")


def _cmake_plugins(repo):
    text = (repo / "plugins" / "CMakeLists.txt").read_text()
    text = re.sub(r"#[^\n]*", "", text)
    return sorted(re.findall(r"pdk_add_plugin\(\s*([A-Za-z0-9_]+)", text))


def _entry_points(repo):
    data = tomllib.loads((repo / "pyproject.toml").read_text())
    return data["project"]["entry-points"]["trt_pdk.plugins"]


def test_cmake_list_matches_folders(repo):
    assert _cmake_plugins(repo) == _folders(repo)


def test_entry_points_match_folders(repo):
    entry_points = _entry_points(repo)
    assert sorted(entry_points) == _folders(repo)
    for name, value in entry_points.items():
        assert value == f"trt_pdk.plugins.{name}.spec:SPEC"


def test_every_plugin_folder_has_its_files(repo):
    for name in _folders(repo):
        folder = repo / "plugins" / name
        assert (folder / "spec.py").is_file(), f"plugins/{name}/spec.py is missing"
        assert (folder / "README.md").is_file(), f"plugins/{name}/README.md is missing"
        assert not (folder / "__init__.py").exists(), f"plugins/{name} is a namespace package, no __init__.py"


def test_cmake_installs_each_spec(repo):
    text = (repo / "plugins" / "CMakeLists.txt").read_text()
    for name in _folders(repo):
        call = re.search(rf"pdk_add_plugin\(\s*{name}\b(.*?)\)", text, re.S)
        assert call and "PYTHON spec.py" in call.group(1), f"pdk_add_plugin({name} ...) must install spec.py"
