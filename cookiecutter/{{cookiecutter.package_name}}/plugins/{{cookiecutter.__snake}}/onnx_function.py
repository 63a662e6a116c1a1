{%- set attrs = cookiecutter.attrs | pdk_attrs(cookiecutter.inputs, cookiecutter.outputs) -%}
{%- set numeric = attrs | selectattr("numeric") | list -%}
{%- set ins = cookiecutter.inputs | tensor_names("x") -%}
{%- set outs = cookiecutter.outputs | tensor_names("y") -%}
"""{{ cookiecutter.name }} in standard ONNX ops: the body of the model-local function that lets
plain onnxruntime run a {{ cookiecutter.name }} plugin node on CPU (the spec's ``onnx_function``).

As the reference: h = the inputs summed in float32, z = h * first + second + ... over the
numeric attributes (``COEFFICIENTS``; z = h without any), output j = softplus((j + 1) * z)
with PyTorch's threshold (t itself above 20), cast back to the dtype of the inputs. Change
it together with the reference and the C++ math.
"""

from __future__ import annotations

from typing import Any

{{ ins | map("tojson") | py_call("INPUTS = (", ")", tuple_=true) }}
{{ outs | map("tojson") | py_call("OUTPUTS = (", ")", tuple_=true) }}
# The numeric attributes in formula order: z = h * first + second + ...
{{ numeric | map(attribute="name") | map("tojson") | py_call("COEFFICIENTS = (", ")", tuple_=true) }}
SOFTPLUS_THRESHOLD = 20.0  # softplus(t) = t above this, as in PyTorch and the C++ math


def onnx_function(attrs: dict[str, Any], num_inputs: int) -> tuple[list[str], list[str], list[Any]]:
    """The body's input names, output names and nodes for one node's attributes."""
    from onnx import TensorProto, helper

    def const(name: str, value: float) -> Any:
        tensor = helper.make_tensor(name, TensorProto.FLOAT, [], [value])
        return helper.make_node("Constant", [], [name], value=tensor)

    inputs = list(INPUTS[:num_inputs])
    nodes = [helper.make_node("Cast", [x], [f"{x}_f32"], to=TensorProto.FLOAT) for x in inputs]
    h = f"{inputs[0]}_f32"
    for k, x in enumerate(inputs[1:], start=1):  # summed left to right, as the reference
        nodes.append(helper.make_node("Add", [h, f"{x}_f32"], [f"h{k}"]))
        h = f"h{k}"
    z = h
    for k, name in enumerate(COEFFICIENTS):  # z = h * first + second + ..., rounded step by step
        nodes.append(const(f"c_{name}", float(attrs[name])))
        nodes.append(helper.make_node("Mul" if k == 0 else "Add", [z, f"c_{name}"], [f"z{k}"]))
        z = f"z{k}"
    nodes.append(const("threshold", SOFTPLUS_THRESHOLD))
    for j, y in enumerate(OUTPUTS):
        t = z
        if j:
            nodes.append(const(f"scale{j}", float(j + 1)))
            nodes.append(helper.make_node("Mul", [z, f"scale{j}"], [f"t{j}"]))
            t = f"t{j}"
        nodes += [
            helper.make_node("Softplus", [t], [f"sp{j}"]),
            helper.make_node("Greater", [t, "threshold"], [f"big{j}"]),
            helper.make_node("Where", [f"big{j}", t, f"sp{j}"], [f"yf{j}"]),
            helper.make_node("CastLike", [f"yf{j}", inputs[0]], [y]),
        ]
    return inputs, list(OUTPUTS), nodes
