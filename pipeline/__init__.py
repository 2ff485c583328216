"""Orchestration above the engines: a load run into a run directory, its summary, the demo
and the sweep. It is the only package that imports its siblings (loadtests, reports, capacity,
target_service); the CLI renders what it returns.
"""
