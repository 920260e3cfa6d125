"""Benchmarks run by `manage.py benchmark <name>` against a dedicated database (its name must contain "bench").

They print figures and ratios against a baseline measured in the same run; nothing here is a pass/fail test.
"""
