"""What agents see of the simulation: the :class:`World` protocol.

Agents never import ``experiments/``: the Mesa model there implements this protocol (and is a
``mesa.Model``, with which agents register), and tests can hand agents a small stub instead.
Written from what ``agents/*.py`` actually use: the clock, the exchange, the options desk, event
scheduling, price watches, subscriptions, the day's high and drawdown, and the model's generator.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from market.exchange import Exchange, WatchHit
from market.options_desk import OptionsDesk


class World(Protocol):
    """The model as agents use it (times in seconds from the 09:30 ET open)."""

    exchange: Exchange
    """The futures venue: accounts, orders, the book, the tape."""
    options: OptionsDesk
    """Open interest, the IV surface and the dealers' option quotes."""
    rng: np.random.Generator
    """The model's random generator (agents never seed their own)."""
    day_high_points: float
    """The day's high so far (sampled mid, index points; ``-inf`` before the open)."""

    @property
    def now_s(self) -> float:
        """Current time (seconds from the open)."""
        ...

    def schedule_at(self, t_s: float, method: Callable[..., None], *args: Any, **kwargs: Any) -> None:
        """Run ``method(*args)`` at ``t_s`` (a bound method of a live object)."""
        ...

    def watch(self, owner: int, level_ticks: int, direction: int, method: Callable[[WatchHit], None]) -> int:
        """Call ``method(hit)`` once when the last trade crosses the level; return a token."""
        ...

    def unwatch(self, token: int) -> None:
        """Cancel a price watch (no effect if it already fired)."""
        ...

    def subscribe_new_high(self, agent: Any, bar_s: float = 0.0) -> None:
        """``agent.on_new_high(high)`` runs whenever the day's high rises.

        With ``bar_s`` > 0: the highest close of bars that many seconds long, see ``bar_high``.
        """
        ...

    def bar_high(self, bar_s: float) -> float:
        """The highest close of the day's ``bar_s``-second bars (index points; -inf before the first)."""
        ...

    def subscribe_news(self, agent: Any) -> None:
        """``agent.on_news(event)`` runs at every macro event."""
        ...

    def new_stream(self) -> np.random.Generator:
        """A generator independent of ``rng`` (a class whose draws must not shift the others')."""
        ...

    def drawdown_pct(self) -> float:
        """Current drawdown from the day's high (%, >= 0)."""
        ...
