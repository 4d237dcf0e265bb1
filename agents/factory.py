"""Build the scenario's agents (each class can be switched off with ``<class>.enabled = false``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agents.base import TraderAgent
    from experiments.model import CascadeModel


def build_agents(model: CascadeModel) -> dict[str, list[TraderAgent]]:
    """Create the enabled agent classes; return them by flow group."""
    groups: dict[str, list[TraderAgent]] = {}
    return groups
