"""Execution and cost: the Unicorn harness, instruction counting, per-core
cycle models (``sim.cycles``) and the RTL simulation harness."""
