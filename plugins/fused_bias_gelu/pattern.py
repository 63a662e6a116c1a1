"""Polygraphy's plugin interface for FusedBiasGelu (`polygraphy plugin list|match|replace`).

Polygraphy loads this file as a script from ``<plugin dir>/fused_bias_gelu/pattern.py`` (the plugin
dir is ``python -m trt_pdk --polygraphy-dir``). Matching runs trt-pdk's rewrite engine on the
patterns in ``patterns.py``, so it finds what ``trt-pdk rewrite`` finds; see
:mod:`trt_pdk.polygraphy_plugin`.
"""

from pathlib import Path

from trt_pdk import polygraphy_plugin

OP = "FusedBiasGelu"


def get_plugin_pattern():
    return polygraphy_plugin.plugin_pattern(OP)


def get_matching_subgraphs(graph):
    return polygraphy_plugin.matching_subgraphs(OP, graph)


def get_plugin_metadata():
    return polygraphy_plugin.plugin_metadata(OP, Path(__file__).resolve().parent.name)


def replace_with_plugin(graph, input_tensors, output_tensors, attrs=None, op=None):
    return polygraphy_plugin.replace_with_plugin(OP, graph, input_tensors, output_tensors, attrs)
