"""Shape bucketing: the padding check on real onnxruntime runs, the edges, the ensemble files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from trt_pdk.profiles import profiles_from_traffic, traffic_from_rows
from trt_pdk.triton import bucketing as bk

WIDTH = 16


def _seq_model(path: Path, *, mix_over_seq: bool) -> Path:
    """x [batch, seq, 16] -> y [batch, seq, 16] and pooled [batch, 16].

    Per token: y = relu(x @ W), pooled = max over seq of y (relu >= 0 = the zero padding's
    value, so padding leaves it unchanged too). With ``mix_over_seq`` y also subtracts the
    mean over seq, as a normalization over the sequence does: padding changes it.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = np.random.default_rng(0).standard_normal((WIDTH, WIDTH)).astype(np.float32)
    nodes = [helper.make_node("MatMul", ["x", "w"], ["mm"]), helper.make_node("Relu", ["mm"], ["h"])]
    if mix_over_seq:
        nodes += [
            helper.make_node("ReduceMean", ["h", "axes"], ["mean"], keepdims=1),
            helper.make_node("Sub", ["h", "mean"], ["y"]),
        ]
    else:
        nodes.append(helper.make_node("Identity", ["h"], ["y"]))
    nodes.append(helper.make_node("ReduceMax", ["h", "axes"], ["pooled"], keepdims=0))
    graph = helper.make_graph(
        nodes,
        "seq",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "seq", WIDTH])],
        [
            helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", "seq", WIDTH]),
            helper.make_tensor_value_info("pooled", TensorProto.FLOAT, ["batch", WIDTH]),
        ],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(np.array([1], np.int64), "axes")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 10
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


TRAFFIC = traffic_from_rows(
    [
        ({"x": [b, s, WIDTH]}, c)
        for b, s, c in [(1, 1, 50), (1, 2, 20), (2, 3, 10), (1, 5, 6), (1, 9, 4), (1, 30, 2)]
    ]
)


def test_padding_a_per_token_axis_is_checked_safe(tmp_path):
    model = _seq_model(tmp_path / "m.onnx", mix_over_seq=False)
    check = bk.check_padding(model, TRAFFIC, "x", 1, [2, 4, 16, 32])
    assert check.safe, check.reason
    assert check.outputs == {"y": 1}  # pooled has no seq axis: compared whole
    assert check.cases >= 4 and check.max_abs_err <= 1e-6


def test_padding_an_axis_the_model_mixes_over_is_refused_with_numbers(tmp_path):
    model = _seq_model(tmp_path / "m.onnx", mix_over_seq=True)
    check = bk.check_padding(model, TRAFFIC, "x", 1, [2, 4, 16, 32])
    assert not check.safe
    assert "changes output 'y'" in check.reason and check.max_abs_err > 1e-3


def test_an_unnamed_dynamic_axis_cannot_be_checked(tmp_path):
    import onnx

    path = _seq_model(tmp_path / "m.onnx", mix_over_seq=False)
    model = onnx.load(str(path))
    model.graph.input[0].type.tensor_type.shape.dim[1].ClearField("dim_param")
    onnx.save(model, str(path))
    check = bk.check_padding(path, TRAFFIC, "x", 1, [4, 32])
    assert not check.safe and "no symbolic dim name" in check.reason


def test_a_failing_model_is_served_unbucketed_with_the_reason(tmp_path):
    model = _seq_model(tmp_path / "m.onnx", mix_over_seq=True)
    plan = bk.plan_bucketing(model, TRAFFIC, "m", profiles=None, max_batch_size=8)
    assert not plan.enabled and "x[1]" in plan.reason and "changes output" in plan.reason
    with pytest.raises(Exception, match="bucketing of 'm' is off"):
        bk.write_bucketing(tmp_path, "m", plan)


def test_edges_stay_inside_the_planners_profiles_and_cover_the_traffic(tmp_path):
    model = _seq_model(tmp_path / "m.onnx", mix_over_seq=False)
    profiles = profiles_from_traffic(TRAFFIC, 2).profiles
    plan = bk.plan_bucketing(model, TRAFFIC, "m", profiles=profiles, max_batch_size=8)
    assert plan.enabled, plan.reason
    edges = plan.axes[0]["edges"]
    assert edges == sorted(edges) and edges[-1] == 30
    seqs = {s[0][1] for s in TRAFFIC.shapes}
    # no bucket straddles two profiles: each profile's largest seq is an edge
    for prof in profiles:
        assert prof["x"]["max"][1] in edges
    # every logged value has an edge at or above it within its own profile
    for v in seqs:
        assert any(e >= v for e in edges)
    est = plan.estimate["x[1]"]
    assert est["bucketed_us_per_request"] > 0 and est["unbucketed_us_per_request"] > 0


def test_the_ensemble_files_wire_pad_model_unpad(tmp_path):
    from trt_pdk.triton import config as tc
    from trt_pdk.triton.config import BatchingOptions
    from trt_pdk.triton.repository import repository_from_onnx, validate_repository

    model = _seq_model(tmp_path / "m.onnx", mix_over_seq=False)
    repository_from_onnx(model, tmp_path / "deploy", "m", batching=BatchingOptions(max_batch_size=8))
    plan = bk.plan_bucketing(model, TRAFFIC, "m", profiles=None, max_batch_size=8)
    names = bk.write_bucketing(tmp_path / "deploy", "m", plan)
    assert names == ["m_pad", "m", "m_unpad", "m_bucketed"]
    entries = {e.name: e.config for e in validate_repository(tmp_path / "deploy", names)}
    ens = entries["m_bucketed"]
    assert [s.model_name for s in ens.ensemble_scheduling.step] == ["m_pad", "m", "m_unpad"]
    assert all(i.allow_ragged_batch for i in entries["m_pad"].input)
    spec = json.loads(entries["m_unpad"].parameters["bucketing"].string_value)
    assert spec["role"] == "unpad" and spec["axes"][0]["outputs"] == {"y": 1}
    pad, main, unpad = ens.ensemble_scheduling.step
    assert dict(main.input_map) == {"x": pad.output_map["x"]}
    length = spec["axes"][0]["length"]
    assert unpad.input_map[length] == pad.output_map[length]
    assert {unpad.input_map[o] for o in ("y", "pooled")} == {main.output_map[o] for o in ("y", "pooled")}
    assert dict(unpad.output_map) == {"y": "y", "pooled": "pooled"}
    assert "m_bucketed" in tc.config_to_text(ens)
    # Writing again with the same plan is a no-op on the version folders.
    assert bk.write_bucketing(tmp_path / "deploy", "m", plan) == names


def test_timing_stops_doubling_before_the_input_limit(tmp_path):
    model = _seq_model(tmp_path / "m.onnx", mix_over_seq=False)
    # The smallest request [1, 1, 16] is 64 bytes; a 1/1024 MiB limit (1 KiB) allows 16 rows.
    cost = bk.time_model(model, TRAFFIC, largest_elements=1e9, budget_s=60, max_input_mib=1 / 1024)
    assert cost["elements"][-1] == 16 * WIDTH, cost["elements"]


def test_padding_past_the_input_limit_is_refused_before_allocating(tmp_path):
    from trt_pdk.errors import UserError

    model = _seq_model(tmp_path / "m.onnx", mix_over_seq=False)
    # The requests fit in 4 KiB; padded to seq 10_000 one would take 625 KiB.
    with pytest.raises(UserError, match=r"bucket edge 10000 .*--max-input-mib"):
        bk.check_padding(model, TRAFFIC, "x", 1, [10_000], max_input_mib=0.5)


@pytest.mark.parametrize("mode", [bk.IN_MODEL, bk.ENSEMBLE])
def test_padding_is_planned_only_where_the_timed_cost_says_it_pays(mode):
    """The cost model against two graphs: one whose run time is flat in its size (weight-bound:
    padding is free and merging saves runs) and one linear in it (compute-bound, no overhead:
    padding is pure waste)."""
    values = sorted({s[0][1] for s in TRAFFIC.shapes})
    flat = {"elements": [1.0, 1e6], "seconds": [1e-3, 1e-3]}
    linear = {"elements": [1.0, 1e6], "seconds": [1e-8, 1e-2]}
    coarse, flat_est = bk.plan_edges(TRAFFIC, "x", 1, None, flat, mode=mode)
    exact, _ = bk.plan_edges(TRAFFIC, "x", 1, None, linear, mode=mode)
    assert len(coarse) < len(values) and coarse[-1] == values[-1]
    assert flat_est["bucketed_us_per_request"] < flat_est["unbucketed_us_per_request"]
    assert exact == values  # every logged length its own bucket: nothing logged is padded


def test_in_model_serving_config_allows_ragged_batches_and_carries_the_edges(tmp_path):
    from trt_pdk.triton.config import BatchingOptions
    from trt_pdk.triton.repository import repository_from_onnx, validate_repository

    model = _seq_model(tmp_path / "m.onnx", mix_over_seq=False)
    repository_from_onnx(model, tmp_path / "deploy", "m", batching=BatchingOptions(max_batch_size=8))
    cfg = validate_repository(tmp_path / "deploy", ["m"])[0].config
    plan = bk.plan_bucketing(model, TRAFFIC, "m", profiles=None, max_batch_size=8, mode=bk.IN_MODEL)
    assert plan.enabled and plan.ragged_inputs == ["x"]
    served = bk.serving_config(cfg, plan.to_json())
    assert [t.allow_ragged_batch for t in served.input] == [True]
    spec = json.loads(served.parameters["bucketing"].string_value)
    assert spec["axes"][0]["edges"] == plan.axes[0]["edges"]
    assert not cfg.input[0].allow_ragged_batch  # a copy: the file's config is untouched


def test_a_model_that_fails_the_check_still_batches_ragged_in_exact_shapes(tmp_path):
    model = _seq_model(tmp_path / "m.onnx", mix_over_seq=True)
    plan = bk.plan_bucketing(model, TRAFFIC, "m", profiles=None, max_batch_size=8, mode=bk.IN_MODEL)
    assert plan.enabled and not plan.axes and "changes output" in plan.reason
    assert "exact-shape groups" in plan.reason
    served = bk.serving_config(_config_with_input("x"), plan.to_json())
    assert served.input[0].allow_ragged_batch and "bucketing" not in served.parameters


def _config_with_input(name: str):
    from trt_pdk.triton import config as tc

    cfg = tc._pb().ModelConfig(name="m", max_batch_size=8)
    cfg.input.add(name=name, dims=[-1, WIDTH])
    return cfg
