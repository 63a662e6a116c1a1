"""Op test harness: compare every backend of a plugin against its PyTorch reference."""

from trt_pdk.testing.harness import (
    CASE_CHECKS,
    PLUGIN_CHECKS,
    CheckResult,
    case_checks,
    plugin_checks,
    run_plugin,
)

__all__ = ["CASE_CHECKS", "PLUGIN_CHECKS", "CheckResult", "case_checks", "plugin_checks", "run_plugin"]
