"""Scenarios, the Mesa model, the runner, sweeps, metrics, plots and the cascade CLI."""

from experiments._lazy_mesa import defer_mesa_init

defer_mesa_init()  # a run imports Mesa's core only (see experiments._lazy_mesa)
