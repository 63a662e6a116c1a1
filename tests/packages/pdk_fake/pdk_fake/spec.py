"""An outside package's plugin spec, discovered through the same entry point group."""

from __future__ import annotations

from trt_pdk.spec import Attr, Case, PluginSpec, Tensor, Tolerance, TorchOp, dyn


def reference(x, *, alpha: float = 2.0):
    return x * alpha


SPEC = PluginSpec(
    name="Scale",
    namespace="pdk_fake",
    versions=("2",),
    attrs=(Attr("alpha", "float32", 2.0, low=-8.0, high=8.0, doc="factor"),),
    inputs=(Tensor("x", ("float32",)),),
    outputs=(Tensor("y", ("float32",)),),
    reference=reference,
    torch_op=TorchOp("scale"),
    cases=(Case("rows0to5", (dyn((0, 3), (5, 3)),), ("float32",), {"alpha": 0.5}),),
    tolerances={"float32": Tolerance(1e-6, 1e-6)},
    native_module="pdk_fake._C",
    library_package="pdk_fake",
)

NOT_A_SPEC = {"name": "Scale"}
