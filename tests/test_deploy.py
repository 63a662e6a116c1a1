"""The TensorRT deployment, judged by the other side: Triton's model_config protobuf, trtexec's own
parser (where tests/trtexec_parser.py is), kubernetes-validate's schemas and KServe's CRD."""

from __future__ import annotations

import functools
import json
import lzma
import re
import shlex
import tarfile
from pathlib import Path

import numpy as np
import onnx
import pytest
import yaml
from onnx import numpy_helper

pytest.importorskip("tritonclient.grpc.model_config_pb2")

from trt_pdk.cli import main
from trt_pdk.deploy import (
    DeployLock,
    DeployOptions,
    KubernetesOptions,
    check_deployment,
    deployment_from_inputs,
    deployment_from_run,
    engine_source_from_run,
    lock_for_deployment,
)
from trt_pdk.engine import engine_from_onnx
from trt_pdk.errors import UserError

TESTS = Path(__file__).resolve().parent
KSERVE_CRD = TESTS / "data" / "kserve" / "serving.kserve.io_inferenceservices.yaml.xz"
# Two profiles as the profiles stage plans them: decode (short seq) and prefill, batch from 1.
PROFILES = [
    {"x": {"min": [1, 1, 64], "opt": [8, 1, 64], "max": [16, 2, 64]}},
    {"x": {"min": [1, 3, 64], "opt": [2, 64, 64], "max": [8, 128, 64]}},
]
SERVING = {"instance_count": 2, "preferred_batch_sizes": [4, 8, 16], "max_queue_delay_us": 500}


def _rms_norm_model(path: Path) -> Path:
    """x[B, S, 64] -> RMSNorm plugin node (the kit's own op) with its weight as an initializer."""
    from trt_pdk.onnx_export import one_node_model
    from trt_pdk.registry import discover

    model = one_node_model(discover()["RMSNorm"], [["B", "S", 64], [64]], ["float32", "float32"])
    for vi in [i for i in model.graph.input if i.name != "x"]:
        model.graph.input.remove(vi)
        model.graph.initializer.append(numpy_helper.from_array(np.ones(64, np.float32), vi.name))
    onnx.save(model, str(path))
    return path


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    """A run folder as the pipeline leaves it where TensorRT is absent: engine/ from a dry run."""
    root = tmp_path_factory.mktemp("run")
    model = _rms_norm_model(root / "rewritten.onnx")
    engine = root / "engine"
    engine.mkdir()
    (engine / "model.onnx").write_bytes(model.read_bytes())
    engine_from_onnx(engine / "model.onnx", PROFILES, engine, precision="fp32")(dry_run=True)
    (root / "perf").mkdir()
    (root / "perf" / "perf.json").write_text(json.dumps({"tuned": {"config": SERVING}}))
    return root


@pytest.fixture(scope="module")
def deployed(run: Path):
    """Two GPU architectures, the serving search's batching."""
    return deployment_from_run(run, DeployOptions(gpu_archs=["9.0", "8.0"]), model_name="demo")


FAST = {"bundle_sources": False}  # the sdist bundle is tested once, on `deployed`


def _config(path: Path):
    from google.protobuf import text_format
    from tritonclient.grpc import model_config_pb2

    cfg = model_config_pb2.ModelConfig()
    text_format.Parse(path.read_text(encoding="utf-8"), cfg)  # raises on anything Triton would not parse
    return cfg


def _trtexec_lines(dockerfile: Path) -> list[list[str]]:
    """argv of every trtexec call in the Dockerfile's RUN instructions (continuations joined)."""
    text = dockerfile.read_text(encoding="utf-8").replace("\\\n", " ")
    lines = []
    for line in text.splitlines():
        if line.startswith("RUN ") and "trtexec" in line:
            words = shlex.split(line.removeprefix("RUN "))
            lines.append(words[words.index("trtexec") :])
    return lines


# --------------------------------------------------------------------------- Triton config


def test_every_config_we_write_parses_with_tritons_model_config(deployed, run, tmp_path):
    from trt_pdk.triton.repository import repository_from_onnx

    cfg = _config(deployed.config)
    assert cfg.platform == "tensorrt_plan" and cfg.name == "demo"
    # max_batch_size: the largest batch every profile accepts (Triton sends 1..max_batch_size).
    assert cfg.max_batch_size == min(p["x"]["max"][0] for p in PROFILES) == 8
    # One instance group per profile, each bound to its profile, with the serving search's count.
    assert [(list(g.profile), g.count) for g in cfg.instance_group] == [(["0"], 2), (["1"], 2)]
    # The serving search's batching, cut to what the profiles accept.
    assert list(cfg.dynamic_batching.preferred_batch_size) == [4, 8]
    assert cfg.dynamic_batching.max_queue_delay_microseconds == 500
    assert "[16]" in " ".join(deployed.notes)
    assert dict(cfg.cc_model_filenames) == {"8.0": "model_sm80.plan", "9.0": "model_sm90.plan"}
    assert [list(t.dims) for t in cfg.input] == [[-1, 64]]
    # No plan is faked: the version folder holds only the engine description until the image builds.
    assert sorted(p.name for p in (deployed.config.parent / "1").iterdir()) == ["engine_io.json"]
    # The CPU model of the same graph: the python-backend config the pipeline serves.
    cpu = repository_from_onnx(run / "engine" / "model.onnx", tmp_path / "cpu", "demo")
    cpu_cfg = _config(cpu.config)
    assert cpu_cfg.backend == "python"
    assert [t.name for t in cpu_cfg.input] == [t.name for t in cfg.input]


def test_one_architecture_serves_model_plan_without_cc_map(run, tmp_path):
    from trt_pdk.deploy.tensorrt import EngineSource  # noqa: F401 - the public input type

    source = engine_source_from_run(run / "engine")
    result = deployment_from_inputs(
        tmp_path / "deploy", source, DeployOptions(gpu_archs=["9.0"], **FAST), model_name="m"
    )
    cfg = _config(result.config)
    assert not cfg.cc_model_filenames
    [argv] = _trtexec_lines(result.dockerfile)
    assert argv[2] == "--saveEngine=/opt/trt_pdk/models/m/1/model.plan"


# --------------------------------------------------------------------------- Dockerfile


def test_dockerfile_builds_the_engines_the_config_names_with_the_locked_plugins(deployed):
    lock = deployed.lock
    text = deployed.dockerfile.read_text()
    froms = re.findall(r"^FROM (\S+)", text, re.MULTILINE)
    assert froms == [f"nvcr.io/nvidia/tensorrt:{lock.triton_release}-py3", lock.triton_image]
    lines = _trtexec_lines(deployed.dockerfile)
    cfg = _config(deployed.config)
    plans = {
        a.removeprefix("--saveEngine=").rsplit("/", 1)[1] for argv in lines for a in argv if "saveEngine" in a
    }
    assert plans == set(cfg.cc_model_filenames.values())
    for argv in lines:
        assert [a for a in argv if a.startswith("--dynamicPlugins=")] == [
            f"--dynamicPlugins=/opt/trt_pdk/plugins/{name}" for name in lock.plugin_libraries
        ]
        assert sum(a.startswith("--minShapes=") for a in argv) == len(PROFILES)
        onnx_path = next(a for a in argv if a.startswith("--onnx=")).removeprefix("--onnx=")
        # The model the line builds is in the build context (deploy/build/), copied in by the Dockerfile.
        assert (deployed.root / "build" / Path(onnx_path).name).is_file()
    # The kit is installed from its own sdist, bundled into the build context, pinned by the lock.
    [sdist] = (deployed.root / "wheels").glob("*.tar.gz")
    with tarfile.open(sdist) as tar:
        info = (
            tar.extractfile(next(m for m in tar.getmembers() if m.name.endswith("/PKG-INFO"))).read().decode()
        )
    meta = dict(re.findall(r"^(Name|Version): (\S+)$", info, re.M))
    assert {meta["Name"]: meta["Version"]} == lock.plugin_packages
    assert f"{meta['Name']}=={meta['Version']}" in text and "--find-links /tmp/wheels" in text
    # Each engine is built on a GPU of its own architecture.
    assert re.findall(r"on_gpu\.sh (\S+)", text) == ["8.0", "9.0"]
    # The plugin library is compiled for the locked architectures in the image.
    assert "CUDAARCHS='80;90'" in text


def test_trtexecs_own_parser_accepts_the_dockerfile_lines(deployed, trtexec_parser):
    """trtexec's parser compiled from the TensorRT mirror (tests/trtexec_parser.py; skips without it)."""
    for argv in _trtexec_lines(deployed.dockerfile):
        parsed = trtexec_parser.parse_trtexec_line(argv, deployed.lock.tensorrt_major)
        assert parsed["ok"], (parsed["error"], parsed["unknown"])
        assert parsed["profiles"] == PROFILES
        assert [Path(p).name for p in parsed["dynamic_plugins"]] == list(deployed.lock.plugin_libraries)


# --------------------------------------------------------------------------- Kubernetes


def _validate(docs: list[dict]) -> str:
    kubernetes_validate = pytest.importorskip("kubernetes_validate")  # pinned in requirements/ci.txt

    version = kubernetes_validate.latest_version()
    for doc in docs:
        kubernetes_validate.validate(doc, version, strict=True)
    return version


def test_kubernetes_manifests_pass_kubernetes_validate_strict(deployed):
    import kubernetes_validate

    docs = list(yaml.safe_load_all(deployed.manifests["triton"].read_text()))
    version = _validate(docs)
    assert tuple(int(x) for x in version.split(".")[:2]) >= (1, 33)
    kinds = {d["kind"]: d for d in docs}
    assert list(kinds) == ["Deployment", "Service", "HorizontalPodAutoscaler"]
    pod = kinds["Deployment"]["spec"]["template"]
    [container] = pod["spec"]["containers"]
    assert container["image"] == deployed.lock.image
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert container["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/v2/health/live"
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {
        "http": 8000,
        "grpc": 8001,
        "metrics": 8002,
    }
    assert kinds["Service"]["spec"]["selector"] == pod["metadata"]["labels"]
    hpa = kinds["HorizontalPodAutoscaler"]["spec"]
    assert hpa["scaleTargetRef"]["name"] == kinds["Deployment"]["metadata"]["name"]
    [metric] = hpa["metrics"]
    # The autoscaler's metric is the one the Prometheus adapter rule exposes.
    rules = yaml.safe_load(deployed.manifests["adapter"].read_text())["rules"]["custom"]
    assert metric["type"] == "Pods" and metric["pods"]["metric"]["name"] == rules[0]["name"]["as"]
    assert rules[0]["name"]["matches"] == "nv_inference_queue_duration_us"
    # The validator is strict: a misspelt field is refused.
    container["readinessprobe"] = container.pop("readinessProbe")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(kinds["Deployment"], version, strict=True)


@pytest.mark.parametrize("repository", ["pvc:triton-models", "s3://bucket/triton/models"])
def test_model_repository_from_a_volume_or_an_object_store(deployed, repository):
    options = DeployOptions(
        kubernetes=KubernetesOptions(
            model_repository=repository,
            object_store_secret="s3-credentials" if repository.startswith("s3") else None,
            autoscale_metric="inference_count",
            gpus=2,
        )
    )
    from trt_pdk.deploy.kubernetes import kserve_manifest, triton_manifests

    docs = triton_manifests(deployed.lock, options, "demo")
    _validate(docs)
    [container] = docs[0]["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    volumes = {v["name"]: v for v in docs[0]["spec"]["template"]["spec"]["volumes"]}
    if repository.startswith("pvc:"):
        assert volumes["model-repository"]["persistentVolumeClaim"]["claimName"] == "triton-models"
        assert env["MODEL_REPOSITORY"] in [m["mountPath"] for m in container["volumeMounts"]]
    else:
        assert env["MODEL_REPOSITORY"] == repository
        assert container["envFrom"] == [{"secretRef": {"name": "s3-credentials"}}]
    assert docs[2]["spec"]["metrics"][0]["pods"]["metric"]["name"] == "triton_inferences_per_second"
    _validate_kserve(kserve_manifest(deployed.lock, options, "demo"))


@functools.lru_cache(maxsize=1)
def _crd_schema() -> dict:
    """KServe's own InferenceService CRD (v1beta1 openAPIV3Schema), with Kubernetes' strict field
    validation: where the schema lists properties and neither preserves unknown fields nor sets
    additionalProperties, the API server (fieldValidation=Strict) refuses any other field."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # 2 MB of YAML: the C parser where built
    crd = yaml.load(lzma.decompress(KSERVE_CRD.read_bytes()), Loader=loader)
    [version] = [v for v in crd["spec"]["versions"] if v["name"] == "v1beta1"]
    schema = version["schema"]["openAPIV3Schema"]

    def strict(node):
        if isinstance(node, dict):
            if (
                "properties" in node
                and "additionalProperties" not in node
                and not node.get("x-kubernetes-preserve-unknown-fields")
            ):
                node["additionalProperties"] = False
            for value in node.values():
                strict(value)
        elif isinstance(node, list):
            for value in node:
                strict(value)

    strict(schema["properties"]["spec"])
    return schema


def _validate_kserve(doc: dict) -> None:
    jsonschema = pytest.importorskip("jsonschema")  # pinned in requirements/ci.txt

    jsonschema.Draft4Validator(_crd_schema()).validate(doc)
    assert doc["apiVersion"] == "serving.kserve.io/v1beta1" and doc["kind"] == "InferenceService"


def test_kserve_inferenceservice_matches_kserves_crd(deployed):
    import jsonschema

    [doc] = list(yaml.safe_load_all(deployed.manifests["kserve"].read_text()))
    _validate_kserve(doc)
    [container] = doc["spec"]["predictor"]["containers"]
    assert container["image"] == deployed.lock.image
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    # The schema is KServe's and strict: a misspelt predictor field and a wrong type are refused.
    doc["spec"]["predictor"]["minReplica"] = doc["spec"]["predictor"].pop("minReplicas")
    with pytest.raises(jsonschema.ValidationError, match="minReplica"):
        _validate_kserve(doc)
    doc["spec"]["predictor"]["minReplicas"] = "one"
    del doc["spec"]["predictor"]["minReplica"]
    with pytest.raises(jsonschema.ValidationError, match="'one' is not of type 'integer'"):
        _validate_kserve(doc)


# --------------------------------------------------------------------------- one source of versions

_VERSION = re.compile(r"(?<![\w.])v?(\d+\.\d+(?:\.\d+)*)(?![\w.])")


def test_every_version_string_in_deploy_agrees_with_the_lock(deployed):
    lock = DeployLock.from_file(deployed.root)
    allowed = {lock.triton_release, lock.tensorrt, *lock.cuda_archs, *lock.plugin_packages.values()}
    files = [deployed.dockerfile, deployed.launch, deployed.config, *deployed.manifests.values()]
    found = {}
    for path in files:
        for n, line in enumerate(path.read_text().splitlines(), 1):
            for m in _VERSION.finditer(line):
                found.setdefault(m.group(1), []).append(f"{path.name}:{n}")
    strays = {v: where for v, where in found.items() if v not in allowed}
    assert not strays, f"version strings not from the lock {sorted(allowed)}: {strays}"
    assert {lock.triton_release, lock.tensorrt} <= set(found)
    # Plugin library names and TensorRT majors: only the lock's.
    names = {m for p in files for m in re.findall(r"lib\w+_plugins_trt\d+\.so", p.read_text())}
    assert names == set(lock.plugin_libraries)
    assert all(name.endswith(f"_trt{lock.tensorrt_major}.so") for name in names)


def test_doctor_against_a_deployment_reports_disagreements(deployed, tmp_path, capsys):
    import shutil

    copy = tmp_path / "deploy"
    shutil.copytree(deployed.root, copy)
    assert main(["doctor", "--against", str(copy)]) == 0
    assert "this deployment matches" in capsys.readouterr().out
    dockerfile = copy / "Dockerfile"
    other = "24.10" if deployed.lock.triton_release != "24.10" else "25.01"
    dockerfile.write_text(
        dockerfile.read_text().replace(
            f"tritonserver:{deployed.lock.triton_release}", f"tritonserver:{other}"
        )
    )
    manifest = copy / "k8s" / "triton.yaml"
    manifest.write_text(
        manifest.read_text().replace("_trt", "_trtX").replace(deployed.lock.image, "elsewhere:latest")
    )
    assert main(["doctor", "--against", str(copy), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    errors = {f["check"]: f["message"] for f in report["findings"] if f["status"] == "error"}
    assert re.search(rf"Dockerfile:\d+ has '{other}'", errors["deploy:triton image"])
    assert "k8s/triton.yaml" in errors["deploy:image"]
    assert [f.check for f in check_deployment(deployed.root) if f.status == "error"] == []


# --------------------------------------------------------------------------- options and the CLI


def test_lock_follows_the_options():
    lock = lock_for_deployment(DeployOptions(tensorrt="10.9", gpu_archs=["8.6"]), "m")
    assert lock.tensorrt.startswith("10.9.") and lock.cuda_archs == ("8.6",)
    assert lock.plugin_libraries == ("libtrt_pdk_plugins_trt10.so",)
    assert lock.image == f"trt-pdk/m:triton-{lock.triton_release}"
    pinned = lock_for_deployment(DeployOptions(triton_release="25.02", gpu_archs=["9.0"]), "m")
    assert (pinned.triton_release, pinned.tensorrt, pinned.release_verified) == ("25.02", "10.8.0.43", True)
    with pytest.raises(UserError, match=r"not in the kit's table.*deploy\.tensorrt"):
        lock_for_deployment(DeployOptions(triton_release="19.01"), "m")
    with pytest.raises(UserError, match=r"MAJOR\.MINOR"):
        DeployOptions(gpu_archs=["sm_90"]).check()
    # A manifest of engines built here pins their TensorRT and GPU.
    built = lock_for_deployment(
        DeployOptions(), "m", {"tensorrt": "10.5.0.18", "gpu": {"compute_capability": "8.9"}}
    )
    assert (built.triton_release, built.cuda_archs) == ("24.10", ("8.9",))


def test_cli_deploy_tensorrt_then_k8s(run, tmp_path, capsys):
    import shutil

    folder = tmp_path / "run"
    shutil.copytree(run, folder)
    argv = ["deploy", "tensorrt", str(folder), "--gpu-arch", "9.0", "--triton-release", "25.02"]
    assert main([*argv, "--no-bundle-sources"]) == 0
    out = capsys.readouterr().out
    assert "docker build -t trt-pdk/" in out and "TensorRT 10.8.0.43" in out
    assert (
        main(["deploy", "k8s", str(folder), "--namespace", "serving", "--model-repository", "pvc:models"])
        == 0
    )
    docs = list(yaml.safe_load_all((folder / "deploy" / "k8s" / "triton.yaml").read_text()))
    _validate(docs)
    assert {d["metadata"]["namespace"] for d in docs} == {"serving"}
    assert main(["doctor", "--against", str(folder / "deploy")]) == 0
    capsys.readouterr()
    # Bad input: one paragraph, exit 2, and the deployment stays as it was.
    before = (folder / "deploy" / "k8s" / "triton.yaml").read_bytes()
    assert main(["deploy", "k8s", str(folder), "--min-replicas", "5", "--max-replicas", "2"]) == 2
    err = capsys.readouterr().err
    assert "min_replicas" in err and "Traceback" not in err
    assert (folder / "deploy" / "k8s" / "triton.yaml").read_bytes() == before
    assert main(["deploy", "tensorrt", str(tmp_path / "nowhere")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_pipeline_deploy_section_is_checked_when_the_config_loads(tmp_path):
    from trt_pdk.pipeline.config import load_config

    (tmp_path / "traffic.jsonl").write_text('{"x": [1, 8, 64]}\n')
    (tmp_path / "model.py").write_text("def factory():\n    pass\n")
    base = "name: t\nmodel:\n  factory: model.py:factory\ntraffic: traffic.jsonl\n"
    good = tmp_path / "good.yaml"
    good.write_text(base + 'deploy:\n  gpu_archs: ["8.0", "9.0"]\n  kubernetes:\n    namespace: serving\n')
    cfg = load_config(good)
    assert cfg.deploy.gpu_archs == ["8.0", "9.0"] and cfg.deploy.kubernetes.namespace == "serving"
    bad = tmp_path / "bad.yaml"
    bad.write_text(base + "deploy:\n  kubernetes:\n    model_repository: ftp://host/models\n")
    with pytest.raises(UserError, match=r"bad\.yaml:5: deploy\.kubernetes\.model_repository 'ftp://"):
        load_config(bad)


def _tool(name: str) -> str:
    """A linter binary from this environment (requirements/ci.txt pins the wheels shipping them)."""
    import shutil
    import sys

    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (pip install -r requirements/ci.txt)")
    return found


def _run(argv: list[str]):
    import subprocess

    return subprocess.run(argv, check=False, capture_output=True, text=True)


def test_hadolint_and_shellcheck_accept_the_dockerfile_and_scripts(deployed):
    """hadolint parses the Dockerfile with its own parser and shellchecks every RUN line."""
    lint = _run([_tool("hadolint"), "--format", "json", str(deployed.dockerfile)])
    assert lint.returncode == 0 and json.loads(lint.stdout) == [], lint.stdout + lint.stderr
    scripts = [deployed.launch, *sorted((deployed.root / "build").glob("*.sh"))]
    check = _run([_tool("shellcheck"), "-s", "sh", *map(str, scripts)])
    assert check.returncode == 0, check.stdout


def test_image_scripts_stop_with_a_reason_where_tensorrt_or_the_gpu_is_missing(deployed):
    """Run here (no TensorRT, no GPU): the checks the image build runs first refuse, saying why."""
    build = deployed.root / "build"
    trt = _run(["sh", str(build / "check_tensorrt.sh"), deployed.lock.tensorrt])
    assert trt.returncode == 1 and f"the lock pins TensorRT {deployed.lock.tensorrt}" in trt.stderr
    gpu = _run(["sh", str(build / "on_gpu.sh"), "9.0", "true"])
    assert gpu.returncode == 1 and "compute capability 9.0" in gpu.stderr


@pytest.mark.tensorrt
@pytest.mark.cuda
def test_an_engine_built_here_goes_into_the_repository_when_the_image_has_its_tensorrt(tmp_path):
    """With TensorRT and a GPU: a plan of exactly the image's TensorRT is served as built; any other
    TensorRT (the table has no exact release) leaves the build to the image, never a stale plan."""
    trt = pytest.importorskip("tensorrt", reason="TensorRT is not installed here")
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU")
    root = tmp_path / "run"
    (root / "engine").mkdir(parents=True)
    model = _rms_norm_model(root / "engine" / "model.onnx")
    engine_from_onnx(model, PROFILES, root / "engine", precision="fp32")()
    manifest = json.loads((root / "engine" / "manifest.json").read_text())
    result = deployment_from_run(root, DeployOptions(bundle_sources=False), model_name="m")
    cc = manifest["gpu"]["compute_capability"]
    assert result.lock.cuda_archs == (cc,) and result.lock.engine_manifest == manifest
    plan = result.config.parent / "1" / "model.plan"
    if result.lock.tensorrt == trt.__version__:
        assert result.plans_here == [cc] and result.plans_in_image == []
        assert plan.read_bytes() == (root / "engine" / "fp32" / "model.plan").read_bytes()
        assert "trtexec" not in result.dockerfile.read_text()
    else:
        assert result.plans_here == [] and result.plans_in_image == [cc] and not plan.exists()
        assert len(_trtexec_lines(result.dockerfile)) == 1
