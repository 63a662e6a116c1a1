"""The command line, run as a user would: subprocesses, exit codes, messages, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys


def _one_paragraph_error(proc, *needles):
    err = proc.stderr.decode()
    assert proc.returncode == 2, err
    assert "Traceback" not in err
    assert err.strip().count("\n") == 0, f"expected one paragraph, got:\n{err}"
    for needle in needles:
        assert needle in err, err
    return err


def test_import_cli_does_not_import_torch_or_tensorrt():
    code = "import sys, trt_pdk.cli; print(sorted(m for m in ('torch', 'tensorrt') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True, text=True)
    assert out.stdout.strip() == "[]"


def test_help_and_list_do_not_import_torch():
    code = (
        "import sys, contextlib, io\n"
        "from trt_pdk.cli import main\n"
        "for argv in (['list'], ['list', '--json']):\n"
        "    with contextlib.redirect_stdout(io.StringIO()):\n"
        "        assert main(argv) == 0\n"
        "print('torch' in sys.modules, 'tensorrt' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True, text=True)
    assert out.stdout.strip() == "False False"


def test_help(cli):
    proc = cli("--help")
    assert proc.returncode == 0
    for command in ("list", "test", "doctor", "attrs"):
        assert command in proc.stdout.decode()


def test_list_json(cli):
    proc = cli("list", "--json")
    assert proc.returncode == 0, proc.stderr.decode()
    rows = json.loads(proc.stdout)
    rms = next(r for r in rows if r["name"] == "RMSNorm")
    assert rms["versions"] == ["1", "2"]
    assert rms["namespace"] == "trt_pdk"
    assert rms["interfaces"] == ["IPluginV2DynamicExt", "IPluginV3"]
    assert rms["attrs"] == [
        {
            "name": "eps",
            "type": "float32",
            "default": 1e-06,
            "range": "(0, 1]",
            "doc": "added to the mean square before the root",
        }
    ]
    assert rms["source"].startswith("trt-pdk ")
    assert set(rms) == {"name", "versions", "namespace", "interfaces", "attrs", "source"}


def test_list_table(cli):
    proc = cli("list")
    assert proc.returncode == 0
    lines = proc.stdout.decode().splitlines()
    assert lines[0].split()[:3] == ["NAME", "NAMESPACE", "VERSIONS"]
    assert any(line.startswith("RMSNorm ") and "IPluginV3" in line for line in lines[1:])


def test_doctor_json(cli):
    proc = cli("doctor", "--json")
    assert proc.returncode == 0, proc.stderr.decode()
    report = json.loads(proc.stdout)
    build = report["build"]
    for key in (
        "version",
        "cuda",
        "cuda_archs",
        "tensorrt_headers_version",
        "tensorrt_major",
        "plugin_library_path",
    ):
        assert key in build
    checks = {c["check"]: c for c in report["checks"]}
    for name in ("native module", "cuda kernels", "tensorrt headers", "tensorrt", "gpu"):
        assert name in checks
        if not checks[name]["ok"]:
            assert checks[name]["fix"], f"{name} is missing but has no fix"
    if not build["cuda"]:
        assert "rebuild with CUDA" in checks["cuda kernels"]["fix"]
    if not build["tensorrt_headers_version"]:
        assert "TensorRT_ROOT=" in checks["tensorrt headers"]["fix"]


def test_doctor_table(cli):
    proc = cli("doctor")
    assert proc.returncode == 0
    out = proc.stdout.decode()
    assert "CUDA:" in out and "TensorRT headers:" in out and "plugin library:" in out


def test_test_runs_one_case(cli):
    proc = cli("test", "RMSNorm", "--case", "2d_d64_rows0to16_fp32", "--json")
    assert proc.returncode == 0, proc.stderr.decode()
    report = json.loads(proc.stdout)
    by_check = {r["check"]: r for r in report["results"] if r["case"] == "2d_d64_rows0to16_fp32"}
    assert by_check["cpu"]["status"] == "pass"
    assert by_check["cpu"]["max_abs"] <= by_check["cpu"]["atol"] + 1e-3
    assert by_check["onnx"]["status"] == "pass"
    assert by_check["cuda"]["status"] in ("pass", "skip")
    if by_check["cuda"]["status"] == "skip":
        assert by_check["cuda"]["detail"]
    assert report["summary"]["fail"] == 0


def test_test_attr_override_runs_against_the_reference(cli):
    proc = cli("test", "RMSNorm", "--case", "1d_d7_fp32", "--attr", "eps=0.5", "--backend", "cpu", "--json")
    assert proc.returncode == 0, proc.stdout.decode() + proc.stderr.decode()
    (cpu,) = [r for r in json.loads(proc.stdout)["results"] if r["check"] == "cpu"]
    assert cpu["status"] == "pass"
    assert cpu["max_abs"] <= 1e-5


def test_unknown_plugin(cli):
    _one_paragraph_error(cli("test", "NoSuchOp"), "unknown plugin 'NoSuchOp'", "RMSNorm")


def test_unknown_case(cli):
    _one_paragraph_error(cli("test", "RMSNorm", "--case", "nope"), "no case(s) ['nope']")


def test_out_of_range_attr(cli):
    _one_paragraph_error(cli("attrs", "RMSNorm", "eps=2"), "'eps'", "(0, 1]", "got 2")
    _one_paragraph_error(cli("test", "RMSNorm", "--attr", "eps=0"), "'eps'", "(0, 1]")


def test_wrong_attr_type(cli):
    _one_paragraph_error(cli("attrs", "RMSNorm", "eps=abc"), "'eps'", "float32", "'abc'")


def test_unknown_attr(cli):
    _one_paragraph_error(cli("attrs", "RMSNorm", "alpha=1"), "alpha", "eps")


def test_attrs_round_trip_through_cli(cli, tmp_path):
    proc = cli("attrs", "RMSNorm", "eps=0.25", "--json")
    assert proc.returncode == 0, proc.stderr.decode()
    out = json.loads(proc.stdout)
    assert out["attrs"] == {"eps": 0.25}
    blob = tmp_path / "attrs.bin"
    blob.write_bytes(bytes.fromhex(out["serialized_hex"]))
    back = cli("attrs", "RMSNorm", "--decode", str(blob), "--json")
    assert back.returncode == 0
    assert json.loads(back.stdout)["attrs"] == {"eps": 0.25}


def test_corrupted_serialized_bytes(cli, tmp_path):
    good = bytes.fromhex(json.loads(cli("attrs", "RMSNorm", "--json").stdout)["serialized_hex"])
    for name, data in {"truncated": good[:-3], "foreign": b"ABCD" + good[4:]}.items():
        blob = tmp_path / f"{name}.bin"
        blob.write_bytes(data)
        _one_paragraph_error(cli("attrs", "RMSNorm", "--decode", str(blob)), "cannot decode", "RMSNorm")


def test_missing_decode_file(cli, tmp_path):
    _one_paragraph_error(cli("attrs", "RMSNorm", "--decode", str(tmp_path / "absent.bin")), "does not exist")
