"""``python -m trt_pdk``: the ``trt-pdk`` command, plus build-integration queries.

``python -m trt_pdk --cmake-dir`` prints the folder holding ``trt_pdkConfig.cmake`` (as
pybind11 does), ``--include-dir`` the op-core headers; plugin packages pass them to CMake.
"""

import sys

from trt_pdk.build_paths import cmake_dir, include_dir

_QUERIES = {"--cmake-dir": cmake_dir, "--include-dir": include_dir}

if len(sys.argv) == 2 and sys.argv[1] in _QUERIES:
    print(_QUERIES[sys.argv[1]]())
    sys.exit(0)

from trt_pdk.cli import main  # noqa: E402 - the queries above must stay import-light

sys.exit(main())
