"""Plugin specs, installed from the op folders under ``plugins/`` in the source tree."""
