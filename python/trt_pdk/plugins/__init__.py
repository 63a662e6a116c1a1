"""Built-in plugin specs, installed from the op folders under ``plugins/`` in the repo."""
