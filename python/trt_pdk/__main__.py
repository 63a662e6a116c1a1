"""``python -m trt_pdk``: the ``trt-pdk`` command, plus build-integration queries.

``python -m trt_pdk --cmake-dir`` prints the folder holding ``trt_pdkConfig.cmake`` (as
pybind11 does), ``--include-dir`` the op-core headers; plugin packages pass them to CMake.
``--polygraphy-dir [PACKAGE]`` prints the Polygraphy plugin folder of the kit's ops (or of
a plugin package's), for ``polygraphy plugin list|match|replace --plugin-dir``.
"""

import sys

from trt_pdk.build_paths import cmake_dir, include_dir, polygraphy_dir

_QUERIES = {"--cmake-dir": cmake_dir, "--include-dir": include_dir, "--polygraphy-dir": polygraphy_dir}

if 2 <= len(sys.argv) <= (3 if sys.argv[1:2] == ["--polygraphy-dir"] else 2) and sys.argv[1] in _QUERIES:
    from trt_pdk.errors import UserError

    try:
        print(_QUERIES[sys.argv[1]](*sys.argv[2:]))
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(UserError.exit_code)
    sys.exit(0)

from trt_pdk.cli import main  # noqa: E402 - the queries above must stay import-light

sys.exit(main())
