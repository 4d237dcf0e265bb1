"""The Mesa model: one trading day on the event-driven clock.

Python events (agent wake-ups, macro news, price-watch reactions, sampling) live in Mesa's
discrete-event simulator. Between two of them the exchange runs the compiled background market
(``Exchange.advance_to``), stopping early when the last trade reaches a price watch; the watch's
callback is then scheduled at that exact exchange time. Mesa's clock counts seconds since the
session start (it cannot start negative); :attr:`CascadeModel.now_s` is seconds from 09:30 ET.

Agents register with the model (Mesa's registry): :attr:`CascadeModel.agents_by_type` holds one
``AgentSet`` per agent class, in creation order. The samples are our own rows (:meth:`_sample`), not a
Mesa ``DataCollector``: the collector keys its records by ``model.steps``, which an event clock never
advances (several samples would share step 0 and agent records would overwrite each other), and a
sample must run at its own event time, after the events of that time (``PRIORITY_SAMPLE``).
"""

from __future__ import annotations

import dataclasses
import heapq
import math
from collections.abc import Callable
from time import perf_counter

import mesa
import numpy as np
import pandas as pd
from mesa.experimental.devs import DEVSimulator
from mesa.experimental.devs.eventlist import Priority

from agents.base import TraderAgent
from agents.cta import CTATrendFollower
from agents.factory import build_agents
from experiments.agent_classes import FLOW_GROUPS
from experiments.config import ScenarioConfig
from experiments.event_clock import EventClock
from experiments.flow_split import DealerFlowSplit
from market.exchange import Exchange, WatchHit
from market.gex import gamma_flip, gex_profile
from market.options_desk import OptionsDesk

PRIORITY_WATCH = Priority.HIGH  # reactions to a price crossing run before other events at that time
PRIORITY_NEWS = Priority.HIGH
PRIORITY_AGENT = Priority.DEFAULT
PRIORITY_SAMPLE = Priority.LOW  # samples see the state after everything else at that time


def gex_price_grid(prev_close_points: float) -> np.ndarray:
    """Spot grid (index points) for a dealer GEX profile: 201 points, -6% to +4% of ``prev_close_points``."""
    return np.linspace(prev_close_points * 0.94, prev_close_points * 1.04, 201)


class CascadeModel(mesa.Model):
    """One trading day of the scenario ``config``; ``seed`` makes it reproducible bit for bit.

    Args:
        config: the scenario.
        seed: root seed (market and agents get independent streams spawned from it).
        simulator: the event clock, injected as in Mesa's examples (``WolfSheep(simulator=...)``);
            a fresh :class:`~experiments.event_clock.EventClock` (a ``DEVSimulator`` with a cheaper
            loop) by default. The model calls its ``setup``.
    """

    def __init__(self, config: ScenarioConfig, seed: int = 0, simulator: DEVSimulator | None = None):
        root = np.random.SeedSequence(seed)
        ss_market, ss_agents = root.spawn(2)
        self._seed_root = root  # new_stream() spawns further independent streams from it
        super().__init__(rng=np.random.default_rng(ss_agents))
        self.config = config
        self.seed_value = seed
        m = config.market
        self.exchange = Exchange(config.prev_close_points, config.flow, ss_market, m)
        self.simulator = simulator if simulator is not None else EventClock()
        self.simulator.setup(self)
        self.options = OptionsDesk.from_params(
            config.options.desk_params(), config.prev_close_points, m.session_start_s
        )
        self._watches: dict[
            int, tuple[int, Callable[[WatchHit], None]]
        ] = {}  # exchange id -> token, callback
        self._watch_tokens: dict[int, int] = {}  # token -> exchange id
        self._next_token = 0
        self._news_subscribers: list[mesa.Agent] = []
        self._high_subscribers: list[tuple[mesa.Agent, float]] = []  # (agent, bar length s; 0: sampled mid)
        self._bar_highs: dict[float, list[float]] = {}  # bar length (s) -> [highest close, next bar end (s)]
        self.rows: list[dict[str, float]] = []
        self._depth: list[tuple[float, np.ndarray, np.ndarray]] = []  # (t, bids, asks) of each sample
        self.markers: list[dict[str, object]] = []
        self.day_high_points = -math.inf
        self.day_low_points = math.inf
        self.open_points = math.nan
        self._last_volume = 0
        self._last_sample_mid = config.prev_close_points
        self._dealer_split = DealerFlowSplit(self.options)
        self._masks: tuple[int, dict[str, np.ndarray]] | None = None  # (owners, masks by flow group)

        build_agents(  # they register with the model: see agents_by_type
            self, config.dealers, config.hedgers, config.cta, config.dip_buyers, config.stop_sellers,
            config.letf, config.prev_close_points, config.levels.supports,
        )
        for ev in config.events:
            self.schedule_at(ev.t_s, self._news, ev, priority=PRIORITY_NEWS)
            self.markers.append({"t": ev.t_s, "label": ev.name})
        self._next_sample_s = m.session_start_s  # each sample schedules the next (a smaller event heap)
        if self._next_sample_s <= m.session_end_s + 1e-9:
            self.schedule_at(self._next_sample_s, self._sample, priority=PRIORITY_SAMPLE)
        self.runtime_s = math.nan

    @property
    def agent_groups(self) -> dict[str, list[TraderAgent]]:
        """The trading agents by flow group (``dealers``, ``hedgers``, ``cta``, ``dip_buyers``).

        Read from Mesa's ``agents_by_type`` (creation order); a group without agents is an empty list.
        """
        groups: dict[str, list[TraderAgent]] = {g: [] for g in FLOW_GROUPS if g != "background"}
        for cls, agents in self.agents_by_type.items():
            groups.setdefault(getattr(cls, "group", cls.__name__), []).extend(agents)
        return groups

    # ------------------------------------------------------------------ clock and scheduling
    @property
    def now_s(self) -> float:
        """Current time, seconds from the 09:30 ET open (the exchange clock)."""
        return self.exchange.now_s

    def _to_sim(self, t_s: float) -> float:
        return t_s - self.config.market.session_start_s

    def schedule_at(self, t_s: float, method: Callable, *args, priority: Priority = PRIORITY_AGENT) -> None:
        """Run ``method(*args)`` at ``t_s`` (seconds from the open).

        ``method`` must be a bound method of a live object: Mesa keeps only a weak reference to it.
        """
        t = max(self._to_sim(t_s), self.simulator.time)
        self.simulator.schedule_event_absolute(method, t, priority=priority, function_args=list(args))

    def watch(self, owner: int, level_ticks: int, direction: int, method: Callable[[WatchHit], None]) -> int:
        """Register a price watch; ``method(hit)`` runs once, at the exchange time of the crossing.

        Returns a token for :meth:`unwatch` (tokens are never reused, unlike exchange watch ids).
        """
        wid = self.exchange.add_watch(owner, level_ticks, direction)
        self._next_token += 1
        self._watches[wid] = (self._next_token, method)
        self._watch_tokens[self._next_token] = wid
        return self._next_token

    def unwatch(self, token: int) -> None:
        """Cancel a price watch (no effect if it already fired)."""
        wid = self._watch_tokens.pop(token, None)
        if wid is not None and self._watches.get(wid, (None,))[0] == token:
            del self._watches[wid]
            self.exchange.remove_watch(wid)

    def subscribe_new_high(self, agent: mesa.Agent, bar_s: float = 0.0) -> None:
        """``agent.on_new_high(high)`` will run when the day's high rises.

        With ``bar_s`` 0 the high is the sampled mid's (``day_high_points``); with ``bar_s`` > 0 it is
        the highest close of bars ``bar_s`` seconds long from the cash open (``bar_high``).
        """
        if bar_s > 0 and bar_s not in self._bar_highs:
            self._bar_highs[bar_s] = [-math.inf, bar_s]
        self._high_subscribers.append((agent, bar_s))

    def bar_high(self, bar_s: float) -> float:
        """The highest close (index points) of the day's bars of ``bar_s`` seconds, -inf before the first.

        A bar's close is the mid at the first sample at or after its end (bars run from the 09:30 open;
        ``bar_s`` shorter than ``sample_interval_s`` closes a bar at every sample). Only bar lengths an
        agent subscribed to (``subscribe_new_high``) are kept.
        """
        return self._bar_highs[bar_s][0]

    def new_stream(self) -> np.random.Generator:
        """A generator independent of ``rng`` and of every earlier stream (spawned from the seed).

        For an agent class added after the others: its draws then leave theirs, and so the rest of
        the day until it first trades, exactly as they are without it (a paired knock-out).
        """
        (child,) = self._seed_root.spawn(1)
        return np.random.default_rng(child)

    def drawdown_pct(self) -> float:
        """Current drawdown from the day's high (%, >= 0; 0 before the open)."""
        if not math.isfinite(self.day_high_points):
            return 0.0
        return max(0.0, 100.0 * (1.0 - self.exchange.mid_points() / self.day_high_points))

    def gex_curve(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Dealer GEX now over :func:`gex_price_grid`: ``(spot points, USD per 1% move)``.

        Returns None while the desk holds no open interest.
        """
        desk = self.options
        if len(desk.book) == 0:
            return None
        grid = gex_price_grid(self.config.prev_close_points)
        return grid, gex_profile(desk.book, desk.surface, grid, desk.surface.t_seconds, desk.rate_cc)

    def level_markers(self, curve: tuple[np.ndarray, np.ndarray] | None) -> tuple[list[float], float | None]:
        """The CTAs' trigger levels (sorted, index points to 0.01) and the gamma flip of ``curve``.

        ``curve`` is a :meth:`gex_curve` (None: no flip); the flip is the one nearest the prior close.
        """
        ctas = self.agents_by_type.get(CTATrendFollower) or ()
        triggers = sorted({round(x, 2) for a in ctas for x in a.trigger_levels()})
        flip = None if curve is None else gamma_flip(*curve, near=self.config.prev_close_points)
        return triggers, flip

    def subscribe_news(self, agent: mesa.Agent) -> None:
        """``agent.on_news(event)`` will run at every macro event."""
        self._news_subscribers.append(agent)

    def _next_event_sim_time(self) -> float:
        events = self.simulator.event_list._events  # the heap; Mesa's peak_ahead is not heap-ordered
        while events and events[0].CANCELED:
            heapq.heappop(events)
        return events[0].time if events else math.inf

    # ------------------------------------------------------------------ running
    def run(self) -> None:
        """Run the whole session."""
        t0 = perf_counter()
        self.advance_until(self.config.market.session_end_s)
        self.runtime_s = perf_counter() - t0
        self.release()  # the day is over: a process that runs many days keeps none of them

    def release(self) -> None:
        """Let the model be garbage-collected once its caller drops it (``run`` calls it at the close).

        Mesa 3.3 numbers agents per model in a class-level dict, ``mesa.Agent._ids``, whose keys are
        the models: every model ever built stays alive with its agents, book and tape (~50 MB per
        nov20 day in a process that runs many; mesa issue #3179, fixed in later Mesa by numbering in
        the model). This drops this model's entry: read the model afterwards, add no agents to it.
        """
        ids = getattr(mesa.Agent, "_ids", None)
        if isinstance(ids, dict):
            ids.pop(self, None)

    def step(self) -> None:
        """Mesa-style step: advance one sampling interval (for interactive use)."""
        self.advance_until(min(self.now_s + self.config.sample_interval_s, self.config.market.session_end_s))

    def advance_until(self, end_s: float) -> None:
        """Run events and the background market up to ``end_s`` (seconds from the open)."""
        start = self.config.market.session_start_s
        while True:
            target = min(self._next_event_sim_time() + start, end_s)
            hit = self.exchange.advance_to(target)
            if hit is not None:
                entry = self._watches.pop(hit.watch_id, None)
                if entry is not None:
                    self._watch_tokens.pop(entry[0], None)
                    hit = dataclasses.replace(hit, watch_id=entry[0])  # the agent knows its token
                    self.schedule_at(hit.t_s, entry[1], hit, priority=PRIORITY_WATCH)
                self.simulator.run_until(max(self._to_sim(hit.t_s), self.simulator.time))
                continue
            # run to the target itself: the exchange clock is whole nanoseconds and may stop a hair short
            self.simulator.run_until(max(self._to_sim(target), self.simulator.time))
            if target >= end_s and self._next_event_sim_time() + start > end_s:
                break
        if self.now_s >= self.config.market.session_end_s:
            self.running = False

    # ------------------------------------------------------------------ events
    def _news(self, event) -> None:
        self.exchange.shift_sentiment(event.sentiment_shift)
        self.exchange.shift_value(event.value_shift_pct)
        if event.activity_boost:
            self.exchange.boost_activity(event.activity_boost)
        for name in event.resolves:
            self.options.resolve_event(name)
        for agent in self._news_subscribers:
            agent.on_news(event)

    def _notify_high(self, bar_s: float, high: float) -> None:
        for agent, agent_bar_s in self._high_subscribers:
            if agent_bar_s == bar_s:
                agent.on_new_high(high)

    def _sample(self) -> None:
        self._next_sample_s += self.config.sample_interval_s
        if self._next_sample_s <= self.config.market.session_end_s + 1e-9:
            self.schedule_at(self._next_sample_s, self._sample, priority=PRIORITY_SAMPLE)
        ex = self.exchange
        t = ex.now_s
        mid = ex.mid_points()
        if t >= 0.0:
            if math.isnan(self.open_points):
                self.open_points = mid
            self.day_low_points = min(self.day_low_points, mid)
            if mid > self.day_high_points:
                notify = not mid < self.day_high_points + 0.5 or not math.isfinite(self.day_high_points)
                self.day_high_points = mid
                if notify:
                    self._notify_high(0.0, mid)
            for bar_s, bar in self._bar_highs.items():
                if t < bar[1] - 1e-9:
                    continue
                bar[1] += bar_s * (1 + (t - bar[1]) // bar_s)  # the next bar end after t
                if mid > bar[0]:
                    bar[0] = mid
                    self._notify_high(bar_s, mid)
        self.options.update_surface(t, mid, self._last_sample_mid, ex.realized_vol_ann())
        self._last_sample_mid = mid
        book = ex.book
        tick = ex.tick
        bid, ask, last = book.best_bid, book.best_ask, book.last_price
        bids, asks = book.depth(20)
        window = self.config.flow.depth_window_ticks
        vol_now = ex.cum_volume
        row: dict[str, float] = {
            "t": t,
            "mid": mid,
            "last": last * tick if last is not None else math.nan,
            "bid": bid * tick if bid is not None else math.nan,
            "ask": ask * tick if ask is not None else math.nan,
            "spread": (ask - bid) * tick if bid is not None and ask is not None else math.nan,
            "volume": vol_now - self._last_volume,
            "depth_bid": int(bids[bids[:, 0] > (bid or 0) - window, 1].sum()) if len(bids) else 0,
            "depth_ask": int(asks[asks[:, 0] < (ask or 0) + window, 1].sum()) if len(asks) else 0,
            "sentiment": ex.sentiment,
            "value": ex.value_points,
            "realized_vol": ex.realized_vol_ann(),
        }
        self._last_volume = vol_now
        row.update(self.options.state(mid, t))
        self._value_conviction(row["iv_atm"])
        row.update(self._agent_state())
        row.update(self._flows())
        row.update(self._dealer_split.sample(mid, t))
        row.update(self._cta_split())
        self.rows.append(row)
        self._depth.append((t, bids, asks))

    def _value_conviction(self, iv_atm: float) -> None:
        """Value traders lose conviction as ATM implied vol rises (``flow.value_conviction_*``)."""
        f = self.config.flow
        if f.value_conviction_iv_exponent > 0.0 and iv_atm > 0.0:
            scale = (f.value_conviction_iv_ref / iv_atm) ** f.value_conviction_iv_exponent
            self.exchange.set_value_halflife_scale(max(scale, f.value_conviction_min_scale))

    def _group_masks(self) -> dict[str, np.ndarray]:
        """Owner masks per flow group (owners are only ever added: rebuilt when their number grows)."""
        names = self.exchange.owner_groups
        if self._masks is None or self._masks[0] != len(names):
            groups = np.array(names)
            self._masks = (len(names), {g: groups == g for g in FLOW_GROUPS})
        return self._masks[1]

    def _agent_state(self) -> dict[str, float]:
        ex = self.exchange
        masks = self._group_masks()
        pos = ex.positions
        cash_usd = ex.cash_ticks * ex.tick_value_usd
        hedger_puts = -self.options.book.holder_qty("hedgers")
        return {
            "dealer_hedge": float(pos[masks["dealers"]].sum()),
            "cta_position": float(pos[masks["cta"]].sum()),
            # dip buyers only buy, so what they have spent is minus their cash
            "dip_capital_deployed": float(-cash_usd[masks["dip_buyers"]].sum()),
            "hedger_puts": float(-hedger_puts[hedger_puts < 0].sum()),
        }

    def _flows(self) -> dict[str, float]:
        pos = self.exchange.positions
        masks = self._group_masks()
        return {f"flow_{g}": float(pos[masks[g]].sum()) for g in FLOW_GROUPS}

    def _cta_split(self) -> dict[str, float]:
        """CTAs' cumulative target changes from their signal and from vol targeting (contracts)."""
        ctas = self.agents_by_type.get(CTATrendFollower)
        if ctas is None:
            return {"cta_flow_signal": 0.0, "cta_flow_vol": 0.0}
        return {
            "cta_flow_signal": float(ctas.agg("flow_signal", sum)),
            "cta_flow_vol": float(ctas.agg("flow_vol", sum)),
        }

    # ------------------------------------------------------------------ results
    def timeseries(self) -> pd.DataFrame:
        """One row per sampling interval (the ``timeseries.parquet`` contract)."""
        return pd.DataFrame(self.rows)

    def depth_frame(self) -> pd.DataFrame:
        """Top-20 levels per side at each sample: t, price (points), side (+1 bid), qty."""
        sides = [(t, s, levels) for t, bids, asks in self._depth for s, levels in ((1, bids), (-1, asks))]
        if not any(len(levels) for _, _, levels in sides):
            return pd.DataFrame([], columns=["t", "price", "side", "qty"])  # the dtypes of no rows
        n = [len(levels) for _, _, levels in sides]
        rows = np.concatenate([levels for _, _, levels in sides])
        return pd.DataFrame(
            {
                "t": np.repeat(np.array([t for t, _, _ in sides], dtype=np.float64), n),
                "price": rows[:, 0] * self.exchange.tick,
                "side": np.repeat(np.array([side for _, side, _ in sides], dtype=np.int64), n),
                "qty": rows[:, 1].astype(np.int64),
            }
        )
