"""Small fake channel plugins for the registry tests (tests/test_plugin_registry.py); never installed."""
