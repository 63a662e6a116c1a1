"""{{ cookiecutter.description }}.

{{ ("The op lives in ``plugins/" ~ cookiecutter.__snake ~ "/`` of the source tree; its spec installs as ``" ~ cookiecutter.package_name ~ ".plugins." ~ cookiecutter.__snake ~ ".spec`` and registers through the ``trt_pdk.plugins`` entry point group, so ``trt-pdk list``/``test``/``rewrite``/``engine`` and ``trt_pdk.load_plugins()`` see it beside the kit's built-in plugins.") | wrap_text("", 100) }}

{{ ("Native parts: ``" ~ cookiecutter.package_name ~ "._C`` (op core, CPU reference, CUDA launchers) and ``lib/lib" ~ cookiecutter.__library ~ "_trt<major>.so`` in this package (the TensorRT plugins).") | wrap_text("", 100) }}
"""

__version__ = "0.1.0"
