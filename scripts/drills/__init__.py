"""Operational drills an ops engineer re-runs on a staging box; each prints its figures.

Run one with `python -m scripts.drills.<name> --help`; docs/DRILLS.md lists them.
"""
