"""Fixtures shared by several test modules."""

from __future__ import annotations

import pytest

from market.exchange import Exchange


@pytest.fixture
def no_stuck_clock(monkeypatch):
    """Turn a model loop that calls ``advance_to`` forever without progress into a failure, not a hang."""
    original = Exchange.advance_to

    def guarded(self, t_s):
        state = (self.now_ns, self.n_messages, t_s)
        if getattr(self, "_stuck_state", None) == state:
            self._stuck_calls += 1
            if self._stuck_calls > 1000:
                raise RuntimeError(
                    f"advance_to({t_s!r}) called 1000 times without progress at {self.now_s!r}"
                )
        else:
            self._stuck_state, self._stuck_calls = state, 0
        return original(self, t_s)

    monkeypatch.setattr(Exchange, "advance_to", guarded)
