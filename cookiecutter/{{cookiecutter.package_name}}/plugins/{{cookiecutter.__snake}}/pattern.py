{%- set outs = cookiecutter.outputs | tensor_names("y") -%}
"""{{ cookiecutter.name }} in Polygraphy's plugin tool (`polygraphy plugin list|match|replace`).

{{ ("Polygraphy loads this file as a script from ``<plugin dir>/" ~ cookiecutter.__snake ~ "/pattern.py``; the plugin dir is ``python -m trt_pdk --polygraphy-dir " ~ cookiecutter.package_name ~ "``. Matching runs trt-pdk's rewrite engine on the spec's ``patterns()``, so it finds what ``trt-pdk rewrite`` finds.") | wrap_text("", 100) }}
{%- if outs | length > 1 %}

Not installed yet: the rewrite engine replaces subgraphs with one output and this op has
{{ outs | length }}. Declare patterns in the spec and add this file to ``PYTHON`` in CMakeLists.txt.
{%- endif %}
"""

from pathlib import Path

from trt_pdk import polygraphy_plugin

OP = "{{ cookiecutter.name }}"


def get_plugin_pattern():
    return polygraphy_plugin.plugin_pattern(OP)


def get_matching_subgraphs(graph):
    return polygraphy_plugin.matching_subgraphs(OP, graph)


def get_plugin_metadata():
    return polygraphy_plugin.plugin_metadata(OP, Path(__file__).resolve().parent.name)


def replace_with_plugin(graph, input_tensors, output_tensors, attrs=None, op=None):
    return polygraphy_plugin.replace_with_plugin(OP, graph, input_tensors, output_tensors, attrs)
