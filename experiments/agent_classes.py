"""Who trades, by name: one list for the model's flow columns, the figures and the attribution sweep.

Constants only and no imports, so every part of ``experiments`` may use it (``experiments.plots``
included, which must not import the simulation).
"""

from __future__ import annotations

__all__ = ["AGENT_CLASSES", "FLOW_GROUPS"]

AGENT_CLASSES = ("dealers", "cta", "hedgers", "dip_buyers", "stop_sellers", "letf")
"""Agent classes with a scenario table of their own (and an ``enabled`` flag), in drawing order."""
FLOW_GROUPS = (*AGENT_CLASSES, "background")
"""Flow groups: the agent classes and the background flow; a run's ``flow_<group>`` columns."""
