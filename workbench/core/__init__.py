"""The domain: usable from the CLI, the GUI and tests. Never imports Qt."""
