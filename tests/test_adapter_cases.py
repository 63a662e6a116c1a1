"""tests/cpp/adapter_cases.txt is what adapter_cases.py makes of today's export and rewrite.

The C++ tests (trt_parser_fields, adapter_enqueue) create and run every plugin from that
file; this keeps it from drifting away from the nodes the kit actually emits.
"""

from __future__ import annotations

import subprocess
import sys


def test_committed_cases_match_the_export_and_rewrite(repo, tmp_path):
    fresh = tmp_path / "adapter_cases.txt"
    script = repo / "tests" / "cpp" / "adapter_cases.py"
    proc = subprocess.run(
        [sys.executable, str(script), str(fresh)], capture_output=True, check=False, timeout=900
    )
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    committed = (repo / "tests" / "cpp" / "adapter_cases.txt").read_text()
    assert fresh.read_text() == committed, (
        "tests/cpp/adapter_cases.txt is stale: the export or rewrite now emits other plugin nodes or the "
        "specs have other cases. Regenerate it: python tests/cpp/adapter_cases.py tests/cpp/adapter_cases.txt"
    )
