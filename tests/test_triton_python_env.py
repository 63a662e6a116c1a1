"""The models' Python: chosen by `triton serve --python-env` or TRT_PDK_TRITON_ROOT, checked first.

The real stub judges: a numpy-1 environment serves correct answers, a numpy-2 one is
refused before the server starts, and (the evidence behind that refusal) served anyway
it answers with empty tensors.
"""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tritonclient.http")

from trt_pdk.errors import UserError
from trt_pdk.triton import server as srv
from trt_pdk.triton.config import BatchingOptions
from trt_pdk.triton.demo_model import run_onnx, token_mlp_onnx
from trt_pdk.triton.python_env import environment_of_triton_root, model_python
from trt_pdk.triton.repository import repository_from_onnx

try:
    srv.find_triton()
except UserError as exc:  # pragma: no cover - depends on the install
    pytest.skip(f"no embedded Triton: {exc}", allow_module_level=True)

KIT_SITE = next(p for p in sys.path if p.endswith("site-packages") and Path(p, "numpy").is_dir())


def _env(root: Path, numpy2: bool = False) -> Path:
    """A venv of this Python that sees the kit's packages (a .pth), optionally with its own numpy 2."""
    venv.EnvBuilder(with_pip=False).create(root)
    site = next(root.glob("lib/python*/site-packages"))
    (site / "zz_kit.pth").write_text(KIT_SITE + "\n")
    if numpy2:
        done = subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), "numpy>=2,<3"],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            pytest.skip(f"numpy 2 could not be installed from the package index here: {done.stderr[-300:]}")
    return root


@pytest.fixture(scope="module")
def deploy(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("pyenv")
    onnx_path = token_mlp_onnx(root / "m.onnx", 64, hidden=128)
    repository_from_onnx(onnx_path, root / "deploy", "m", batching=BatchingOptions(max_batch_size=4))
    return onnx_path, root / "deploy"


@pytest.fixture(scope="module")
def numpy2_env(tmp_path_factory) -> Path:
    return _env(tmp_path_factory.mktemp("np2") / "env", numpy2=True)


def test_the_environment_holding_triton_root_is_the_default(tmp_path, monkeypatch):
    env = tmp_path / "tritonenv"
    root = env / "lib" / "python3.11" / "site-packages" / "pytriton" / "tritonserver"
    root.mkdir(parents=True)
    (env / "bin").mkdir()
    (env / "bin" / "python3").write_text("")
    assert environment_of_triton_root(root) == env
    monkeypatch.setenv("TRT_PDK_TRITON_ROOT", str(root))
    assert model_python() == env
    assert model_python(tmp_path / "mine") == tmp_path / "mine"  # --python-env wins
    monkeypatch.setenv("TRT_PDK_TRITON_ROOT", str(tmp_path / "elsewhere" / "tritonserver"))
    assert model_python() == Path(sys.prefix)


def test_a_numpy1_environment_passed_with_python_env_serves(deploy, tmp_path):
    onnx_path, repo = deploy
    env = _env(tmp_path / "np1")
    x = np.random.default_rng(0).standard_normal((1, 3, 64)).astype(np.float32)
    with srv.TritonServer(repo, tmp_path / "run", python_env=env) as s:
        import tritonclient.http as httpclient

        client = httpclient.InferenceServerClient(s.state.http_url)
        inp = httpclient.InferInput("x", list(x.shape), "FP32")
        inp.set_data_from_numpy(x)
        got = client.infer("m", [inp]).as_numpy("y")
        client.close()
    np.testing.assert_allclose(got, run_onnx(onnx_path, {"x": x})["y"], rtol=1e-5, atol=1e-5)


def test_a_numpy2_environment_is_refused_before_the_server_starts(deploy, numpy2_env, tmp_path, capsys):
    from trt_pdk.cli import main

    _, repo = deploy
    code = main(["triton", "serve", "--repository", str(repo), "--run-dir", str(tmp_path / "run"),
                 "--python-env", str(numpy2_env)])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert f"{numpy2_env} has numpy 2." in err and "--python-env DIR" in err
    assert not (tmp_path / "run" / srv.LOG_FILE).exists()  # refused before any server ran


def test_numpy2_really_empties_the_stubs_answers(deploy, numpy2_env, tmp_path):
    """The evidence behind the refusal: if this starts failing, a newer stub handles numpy 2."""
    import tritonclient.http as httpclient

    _, repo = deploy
    x = np.ones((1, 3, 64), np.float32)
    with srv.TritonServer(repo, tmp_path / "run", python_env=numpy2_env, check_python=False) as s:
        client = httpclient.InferenceServerClient(s.state.http_url)
        inp = httpclient.InferInput("x", list(x.shape), "FP32")
        inp.set_data_from_numpy(x)
        result = client.infer("m", [inp])
        client.close()
    out = result.get_output("y")
    assert out["shape"] == [1, 3, 64]
    with pytest.raises(ValueError, match="size 0"):
        result.as_numpy("y")


def test_a_numpy2_kit_serves_through_triton_root(deploy, numpy2_env, tmp_path):
    """The README's set-up: the kit under numpy 2, nvidia-pytriton in another environment
    named by TRT_PDK_TRITON_ROOT; the models run there (numpy 1) and verify passes."""
    import os

    onnx_path, repo = deploy
    script = f"""
import json, numpy as np
from trt_pdk.triton.demo_model import run_onnx
from trt_pdk.triton.server import TritonServer
from trt_pdk.triton.verify import VerifyServing
x = np.random.default_rng(0).standard_normal((2, 3, 64)).astype(np.float32)
with TritonServer({str(repo)!r}, {str(tmp_path / "run")!r}) as s:
    r = VerifyServing(s.state, "m", {{"x": x}}, lambda f: run_onnx({str(onnx_path)!r}, f))()
print(json.dumps({{"kit_numpy": np.__version__, "models_python": str(s.python_env), "passed": r["passed"],
                  "max_abs_err": r["max_abs_err"]}}))
"""
    install = srv.find_triton()
    env = {**os.environ, "TRT_PDK_TRITON_ROOT": str(install.root)}
    done = subprocess.run(
        [str(numpy2_env / "bin" / "python"), "-c", script],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    import json

    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["kit_numpy"].startswith("2.")
    assert Path(out["models_python"]) == Path(sys.prefix)  # the environment that holds nvidia-pytriton
    assert out["passed"] is True and out["max_abs_err"] <= 1e-5
