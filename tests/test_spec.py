"""Plugin specs validate themselves with messages that say what to change."""

from __future__ import annotations

import dataclasses

import pytest

from trt_pdk.errors import UserError
from trt_pdk.registry import get_spec
from trt_pdk.spec import Attr, Case, PluginSpec, ShapeRange, Tensor, Tolerance, TorchOp, dyn, format_number
from trt_pdk.testing.harness import CheckFailed, check_fields


def _spec(**overrides):
    base = {
        "name": "MyOp",
        "attrs": (Attr("k", "int32", 3, low=1, high=9),),
        "inputs": (Tensor("x", ("float32", "float16")),),
        "outputs": (Tensor("y", ("float32", "float16")),),
        "reference": lambda x, *, k=3: x * k,
        "torch_op": TorchOp("my_op"),
        "cases": (Case("c", ((2, 3),), ("float32",)),),
        "tolerances": {"float32": Tolerance(1e-6, 1e-6), "float16": Tolerance(1e-3, 1e-3)},
    }
    base.update(overrides)
    return PluginSpec(**base)


def test_valid_spec_derives_interfaces():
    spec = _spec()
    assert spec.versions == ("1", "2")
    assert spec.interfaces == ("IPluginV2DynamicExt", "IPluginV3")
    assert spec.torch_qualname == "trt_pdk::my_op"
    assert _spec(versions=("2",)).interfaces == ("IPluginV3",)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"versions": ("1",)}, "versions must contain '2'"),
        ({"versions": ("2", "3")}, "versions must contain '2'"),
        ({"name": "my-op"}, "name must be an identifier"),
        ({"tolerances": {"float32": Tolerance(0, 0)}}, "no tolerance for output dtype float16"),
        (
            {"cases": (Case("c", ((2,),), ("bfloat16",)),)},
            "input 'x' takes ('float32', 'float16'), not bfloat16",
        ),
        ({"cases": (Case("c", ((2,), (2,)), ("float32", "float32")),)}, "2 shapes for 1 inputs"),
        (
            {"cases": (Case("c", ((2,),), ("float32",), {"k": 10}),)},
            "attribute 'k' must be in [1, 9], got 10",
        ),
        (
            {"cases": (Case("c", ((2,),), ("float32",)), Case("c", ((3,),), ("float32",)))},
            "two cases are named 'c'",
        ),
        ({"attrs": (Attr("x", "int32", 1),)}, "the name 'x' is used twice"),
        ({"attrs": (Attr("plugin_version", "int32", 1),)}, "reserved"),
        ({"reference": 3}, "reference must be a callable"),
    ],
)
def test_invalid_specs_say_what_to_fix(overrides, message):
    with pytest.raises(UserError) as info:
        _spec(**overrides)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"type": "float64", "default": 1.0}, "type must be one of int32, float32, string"),
        ({"type": "string", "default": "a"}, "needs `choices`"),
        ({"type": "float32", "default": 2.0, "high": 1.0}, "the default is invalid"),
        ({"type": "int32", "default": 1, "low": 0.5}, "must be an int"),
        ({"type": "float32", "default": 0.5, "low": 1.0, "high": 0.0}, "low (1.0) is above high (0.0)"),
    ],
)
def test_invalid_attrs(kwargs, message):
    with pytest.raises(UserError, match=None) as info:
        Attr("a", **kwargs)
    assert message in str(info.value)


def test_range_text_matches_cpp_formatting():
    assert Attr("e", "float32", 1e-6, low=0.0, high=1.0, low_open=True).range_text() == "(0, 1]"
    assert Attr("e", "float32", 0.5).range_text() == "[-inf, inf]"
    assert Attr("e", "float32", 0.5, low=1e-7, high=100.0, high_open=True).range_text() == "[1e-07, 100)"
    assert Attr("n", "int32", 0).range_text() == "[-2147483648, 2147483647]"
    assert Attr("s", "string", "a", choices=("a", "b")).range_text() == "one of a, b"
    assert format_number(1e-6) == "1e-06"
    assert format_number(1234567.0) == "1.23457e+06"


def test_resolve_attrs_fills_defaults_and_rejects_bad_values():
    spec = get_spec("RMSNorm")
    assert spec.resolve_attrs() == {"eps": 1e-6}
    assert spec.resolve_attrs({"eps": 1}) == {"eps": 1.0}
    with pytest.raises(UserError, match=r"RMSNorm: attribute 'eps' must be in \(0, 1\], got 0"):
        spec.resolve_attrs({"eps": 0.0})
    with pytest.raises(UserError, match=r"attribute 'eps' must be a number of type float32, got str"):
        spec.resolve_attrs({"eps": "1e-5"})
    with pytest.raises(UserError, match=r"unknown attribute\(s\) \['epsilon'\]; it takes: eps"):
        spec.resolve_attrs({"epsilon": 1e-5})
    with pytest.raises(UserError, match="must be a number"):
        spec.resolve_attrs({"eps": True})


def test_spec_is_frozen():
    spec = get_spec("RMSNorm")
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.name = "Other"
    with pytest.raises(TypeError):
        spec.cases[0].attrs["eps"] = 1.0


def test_shape_range_points_cover_min_opt_mid_max():
    case = Case("c", (dyn((0, 4), (8, 4), opt=(2, 4)), ShapeRange.static((4,))), ("float32", "float32"))
    assert case.points() == [((0, 4), (4,)), ((2, 4), (4,)), ((4, 4), (4,)), ((8, 4), (4,))]
    assert case.shapes[0].dynamic_axes == (0,)
    with pytest.raises(UserError, match="min <= opt <= max"):
        ShapeRange((3,), (2,), (4,))


@pytest.mark.parametrize(
    ("attr", "message"),
    [
        (Attr("eps", "float32", 1e-5, low=0.0, high=1.0, low_open=True), "C++ default 1e-06"),
        (Attr("eps", "float32", 1e-6, low=0.0, high=1.0), "C++ range (0, 1], Python spec range [0, 1]"),
        (
            Attr("epsilon", "float32", 1e-6, low=0.0, high=1.0, low_open=True),
            "C++ declares attributes ['eps']",
        ),
        (Attr("eps", "int32", 0, low=0, high=1), "C++ type float32, Python spec type int32"),
    ],
)
def test_fields_check_fails_when_cpp_and_spec_disagree(attr, message):
    spec = get_spec("RMSNorm")
    wrong = dataclasses.replace(spec, attrs=(attr,), cases=())
    with pytest.raises(CheckFailed) as info:
        check_fields(wrong)
    assert message in str(info.value)


def test_fields_check_passes_for_the_real_spec():
    assert "eps:float32" in check_fields(get_spec("RMSNorm"))


def test_input_generator_feeds_the_harness():
    import torch

    from trt_pdk.testing.harness import make_inputs

    def ascending(shape, dtype, generator):
        return torch.randn(shape, generator=generator).sort().values

    spec = _spec(
        inputs=(Tensor("x", ("float32",), generator=ascending),), outputs=(Tensor("y", ("float32",)),)
    )
    case = Case("c", (dyn((0, 16), (3, 16)),), ("float32",))
    for shapes in case.points():
        (x,) = make_inputs(spec, case, shapes)
        assert tuple(x.shape) == shapes[0]
        assert torch.equal(x, x.sort().values)


def test_onnx_function_must_be_callable():
    with pytest.raises(UserError, match="onnx_function must be a callable"):
        _spec(onnx_function="not callable")


def test_built_in_plugins_declare_onnx_functions():
    for name in ("RMSNorm", "FusedBiasGelu", "Bucketize", "MaskedCompact"):
        assert callable(get_spec(name).onnx_function), name


def _optional_spec(**overrides):
    base = {
        "inputs": (Tensor("x", ("float32",)), Tensor("b", ("float32",), optional=True)),
        "outputs": (Tensor("y", ("float32",)),),
        "reference": lambda x, b=None, *, k=3: x * k if b is None else (x + b) * k,
        "cases": (Case("both", ((2, 3), (3,)), ("float32",) * 2), Case("x_only", ((2, 3),), ("float32",))),
        "tolerances": {"float32": Tolerance(1e-6, 1e-6)},
    }
    base.update(overrides)
    return _spec(**base)


def test_optional_trailing_input_lets_cases_leave_it_out():
    spec = _optional_spec()
    assert (spec.num_required_inputs, spec.num_optional_inputs) == (1, 1)
    assert [t.name for t in spec.case_inputs(spec.cases[1])] == ["x"]
    assert spec.present_inputs(2) == spec.inputs
    with pytest.raises(UserError, match="takes 1 to 2 inputs, got 0"):
        spec.present_inputs(0)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"inputs": (Tensor("x", ("float32",), optional=True), Tensor("b", ("float32",)))},
            "input 'b' is required but follows an optional input",
        ),
        ({"inputs": (Tensor("x", ("float32",), optional=True),)}, "at least one required input"),
        ({"outputs": (Tensor("y", ("float32",), optional=True),)}, "output 'y' is optional"),
        ({"cases": (Case("none", (), ()),)}, "0 shapes for 1 to 2 inputs"),
        (
            {"cases": (Case("three", ((2,), (2,), (2,)), ("float32",) * 3),)},
            "3 shapes for 1 to 2 inputs",
        ),
    ],
)
def test_optional_inputs_are_validated(overrides, message):
    with pytest.raises(UserError, match=message):
        _optional_spec(**overrides)


def test_required_inputs_cannot_be_left_out_of_a_case():
    with pytest.raises(UserError, match="1 shapes for 2 inputs"):
        _spec(
            inputs=(Tensor("x", ("float32",)), Tensor("w", ("float32",))),
            cases=(Case("c", ((2, 3),), ("float32",)),),
        )


def test_optional_input_reaches_every_python_layer():
    import onnx
    import torch

    from trt_pdk import onnx_export, torch_ops
    from trt_pdk.testing.harness import make_inputs

    spec = get_spec("FusedBiasGelu")
    assert spec.num_optional_inputs == 1 and any(c.num_inputs == 1 for c in spec.cases)
    assert torch_ops.schema(spec).startswith("fused_bias_gelu(Tensor x, Tensor? bias=None, ")
    case = next(c for c in spec.cases if c.num_inputs == 1)
    (x,) = make_inputs(spec, case, case.points()[-1])
    op = torch_ops.register(spec)
    torch.testing.assert_close(op(x), torch.nn.functional.gelu(x, approximate=case.attrs["approximate"]))
    torch.testing.assert_close(op(x, None, approximate="tanh"), op(x, approximate="tanh"))
    schema = onnx_export.register_schema(spec)
    option = onnx.defs.OpSchema.FormalParameterOption
    assert [i.option for i in schema.inputs] == [option.Single, option.Optional]
    model = onnx_export.one_node_model(spec, [["n", 7]], ["float16"], {})
    (node,) = model.graph.node
    assert list(node.input) == ["x"]
    assert [d.dim_param or d.dim_value for d in model.graph.output[0].type.tensor_type.shape.dim] == ["n", 7]
    with pytest.raises(UserError, match="takes 1 to 2 inputs, got 0"):
        onnx_export.one_node_model(spec, [], [], {})


def test_versions_check_compares_optional_inputs():
    from trt_pdk.testing.harness import check_versions

    spec = get_spec("FusedBiasGelu")
    check_versions(spec)
    bias = dataclasses.replace(spec.inputs[1], optional=False)
    required = dataclasses.replace(
        spec, inputs=(spec.inputs[0], bias), cases=[c for c in spec.cases if c.num_inputs == 2]
    )
    with pytest.raises(CheckFailed, match=r"C\+\+ declares 1 optional input\(s\).*the spec 0"):
        check_versions(required)


def test_a_node_marking_the_optional_input_absent_with_an_empty_name_runs():
    import numpy as np
    import onnx
    import onnxruntime as ort

    from trt_pdk import onnx_cpu, onnx_export
    from trt_pdk.onnx_stages.functions import with_cpu_functions

    spec = get_spec("FusedBiasGelu")
    model = onnx_export.one_node_model(spec, [["n", 4]], ["float32"], {})
    model.graph.node[0].input.append("")  # x, absent bias
    model.graph.output[0].type.tensor_type.ClearField("shape")
    inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    assert [d.dim_param or d.dim_value for d in inferred.graph.output[0].type.tensor_type.shape.dim] == [
        "n",
        4,
    ]
    x = np.linspace(-3, 3, 8, dtype=np.float32).reshape(2, 4)
    (expected,) = onnx_cpu.run(model, [spec], {"x": x})
    with_functions, covered = with_cpu_functions(model, [spec])
    assert covered == ["trt_pdk::FusedBiasGelu"]
    session = ort.InferenceSession(with_functions.SerializeToString(), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {"x": x})[0], expected, rtol=1e-6, atol=1e-6)
