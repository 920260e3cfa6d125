"""A plugin whose module fails on import, as a plugin with a missing dependency would."""
raise RuntimeError("the exploding plugin cannot start")
