"""Benchmarks of the service on loopback against the simulators: ``python -m bench``.

Every figure is measured side by side with its reference in the same run (the
machines this runs on are noisy), printed with its target and PASS or FAIL, and
written to ``bench-results/latest.json`` and a timestamped copy. Not part of the
test suite: speed is judged here, never in a test.
"""
