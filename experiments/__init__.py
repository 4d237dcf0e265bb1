"""Scenarios, the Mesa model, the runner, sweeps, metrics, plots and the cascade CLI."""
