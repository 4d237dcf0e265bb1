"""DealerFlowSplit: series matched by book row (the fast path) or by key (after rows move) agree."""

from __future__ import annotations

import numpy as np

from experiments.flow_split import DEALER_FLOW_PARTS, DealerFlowSplit
from market.ivsurface import IVSurfaceParams
from market.options_desk import OpenInterest, OptionsDesk, OptionsDeskParams


def _desk() -> OptionsDesk:
    oi = (OpenInterest(95.0, 0, False, 4000), OpenInterest(100.0, 1, True, -2000),
          OpenInterest(90.0, 30, False, 900))
    return OptionsDesk.from_params(OptionsDeskParams(IVSurfaceParams(), 0.04, 1e-6, (), oi), 6600.0, -3600.0)


def test_row_matching_equals_key_matching():
    desk = _desk()
    by_row, by_key = DealerFlowSplit(desk), DealerFlowSplit(desk)
    rng = np.random.default_rng(3)
    F, F_prev = 6600.0, 6600.0
    for i, t in enumerate(np.arange(0.0, 23400.0 + 1, 1800.0)):
        F = F * float(np.exp(rng.normal(0, 0.004)))
        desk.update_surface(float(t), F, F_prev, 0.2)
        F_prev = F
        if i % 2:  # customers trade: new series and resized ones
            strike = float(5 * round(F * 0.95 / 5))
            desk.trade("hedgers", strike, int(rng.integers(0, 3)), False, 50, F, float(t))
        a = by_row.sample(F, float(t))
        if by_key._prev is not None:  # an impossible row forces matching by (strike, expiry, call)
            by_key._prev = by_key._prev._replace(rows=by_key._prev.rows + len(desk.book))
        b = by_key.sample(F, float(t))
        assert a == b
    assert any(by_row.cum[p] != 0.0 for p in DEALER_FLOW_PARTS)
