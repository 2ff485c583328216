"""Each tier's CPU seconds so far, read from /proc (psutil): the instances, nginx, every
database node, Redis and the load generator, each a set of processes with their children.

A scale-out point samples these at the start and the end of its measured window; the
difference over the window's length is the cores a tier used, and over the fleet's requests
its CPU per request (its service demand D_k, the Utilization Law's input).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

import psutil

LOCUST_MARK = "locust"


def process_tree_cpu_s(pids: Iterable[int]) -> float:
    """User + system CPU seconds of `pids` and all their descendants (gone ones count 0)."""
    seen: set[int] = set()
    total = 0.0
    for pid in pids:
        try:
            root = psutil.Process(pid)
            tree = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
        for process in tree:
            if process.pid in seen:
                continue
            seen.add(process.pid)
            try:
                times = process.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
    return total


def generator_pids() -> list[int]:
    """This process's Locust descendants (the runs loadcap started: master and workers)."""
    found = []
    for child in psutil.Process(os.getpid()).children(recursive=True):
        try:
            if any(LOCUST_MARK in part for part in child.cmdline()[:3]):
                found.append(child.pid)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def tiers_cpu_s(pids_by_tier: Mapping[str, Iterable[int]]) -> dict[str, float]:
    """CPU seconds so far of every tier; `generator` is added from this process's Locust."""
    reading = {tier: process_tree_cpu_s(pids) for tier, pids in pids_by_tier.items()}
    reading["generator"] = sum(_own_cpu_s(pid) for pid in generator_pids())
    return reading


def generator_cpu_by_process() -> dict[int, float]:
    return {pid: _own_cpu_s(pid) for pid in generator_pids()}


def _own_cpu_s(pid: int) -> float:
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.NoSuchProcess:
        return 0.0
    return times.user + times.system
