"""Compiled background flow and exchange bookkeeping (private; ``market.exchange`` wraps it).

``run_flow`` advances the market to a time: it draws Poisson events (market-maker requotes, noise
limit, market and cancel orders), sends their messages through the order-book kernel, settles
every trade into the owners' accounts, takes an L1 snapshot every ``snapshot_interval_s`` and
stops early when the last trade price crosses a price watch. It never draws random numbers itself:
it consumes uniforms from a buffer that the Python side fills from a seeded numpy Generator
(QuantEcon style), so runs are reproducible and independent of how the day is cut into calls.
Every buffer is checked before use; a full one makes ``run_flow`` return a ``NEED_*`` status
(nothing half-done), the caller grows it and calls again.
"""

from __future__ import annotations

import hashlib
import math
from typing import NamedTuple

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from market import _lob_kernels as K
from market._borrow import borrow
from market.flow import FLOW_FIELDS, FP
from market.lob import BookState
from market.types import BUY, CANCEL, LIMIT, MARKET, MODIFY, SELL
from market.units import SESSION_SECONDS, TRADING_DAYS_PER_YEAR

# ---- run_flow results
DONE, WATCH_HIT, NEED_RANDOMS, NEED_CAPACITY, NEED_SNAPSHOTS, NEED_NOISE_SLOTS = range(6)

# ---- integer state fi[...]
(
    FI_NOW,
    FI_NEXT_T,
    FI_NEXT_KIND,
    FI_NEXT_WHO,
    FI_NEXT_OID,
    FI_RNG_POS,
    FI_N_SNAP,
    FI_NEXT_SNAP,
    FI_N_NOISE,
    FI_HIT,
    FI_OWNER_MM0,
    FI_OWNER_NOISE,
    FI_SETTLED,
    FI_CUM_VOLUME,
    FI_N_FLOW_MSGS,
    FI_REF_TICKS,
    FI_MIN_UP_WATCH,
    FI_MAX_DOWN_WATCH,
    FI_SNAP_TRADES,
    FI_SIGNED_VOL_1S,
    FI_ABS_VOL_1S,
    FI_REFILL_T,
    FI_REFILL_WHO,
) = range(23)
N_FI = 23
NO_REFILL = np.iinfo(np.int64).max
NO_UP_WATCH = np.iinfo(np.int64).max
NO_DOWN_WATCH = -1

# ---- float state ff[...]
(
    FF_VAR,
    FF_MID_PREV,
    FF_IMB,
    FF_ABS,
    FF_LOG_ACT,
    FF_OPEN_S,
    FF_CLOSE_S,
    FF_SECONDS_PER_NS,
    FF_SENTIMENT,
    FF_VALUE,
    FF_VALUE_INV,
) = range(11)
MAX_ACT_SCALES = 6  # = the upper bound of FlowParams.activity_n_scales
FF_ACT_FACTOR0 = 11  # ff[FF_ACT_FACTOR0 + i]: the i-th OU factor of log activity (FF_LOG_ACT: their sum)
FF_VALUE_HL_SCALE = FF_ACT_FACTOR0 + MAX_ACT_SCALES  # the value belief's half-life x this (1: as configured)
FF_NEWS_ACT = FF_VALUE_HL_SCALE + 1  # extra activity after news (x the usual; decays per snapshot)
N_FF = FF_NEWS_ACT + 1

# ---- event kinds
EV_REQUOTE, EV_NOISE_LIMIT, EV_NOISE_MARKET, EV_NOISE_CANCEL = range(4)

# ---- accounts acct_i[owner, A_*] (int64) and acct_f[owner, AF_*] (float64)
A_POSITION, A_CASH_TICKS, A_VOLUME, A_N_TRADES = range(4)
N_ACCT_I = 4
AF_AVG_PRICE, AF_REALIZED_TICKS = range(2)
N_ACCT_F = 2

# ---- snapshots snaps[n, S_*]
S_T, S_BID, S_ASK, S_LAST, S_BID_QTY, S_ASK_QTY, S_DEPTH_BID, S_DEPTH_ASK, S_VOLUME, S_MSGS = range(10)
N_SNAP_FIELDS = 10

# ---- watches w[n, W_*]
W_LEVEL, W_DIR, W_ACTIVE = range(3)
N_WATCH_FIELDS = 3

# ---- market-maker quotes mm[maker, side_index, level, Q_*]
Q_OID, Q_PRICE, Q_QTY = range(3)
N_QUOTE_FIELDS = 3
PREFETCH_AHEAD = 8  # hash lookups started ahead of use in the noise list's compaction
NOISE_SLOTS = 4096  # initial room for resting noise orders (doubles on NEED_NOISE_SLOTS)

# ---- values derived once per ``run_flow`` call or once per snapshot, cc[C_*] (float64, private to a call)
# Per call (functions of the parameters only): the snapshot's decay factors and OU coefficients, the
# makers' size decay per ladder level. Per snapshot (functions of ff fields that only ``_snapshot`` or
# the Python side between calls changes): the makers' stress and width, the activity multipliers.
# Each is the very expression the loop evaluated before, so every result is the same double.
(
    C_EXCESS,  # _stress: vol excess over calm
    C_IMB,  # _stress: |imbalance| (<= 1)
    C_WIDTH,  # _maker_width (an integer, ticks)
    C_ACT,  # exp(log activity - var / 2): _activity's stochastic factor
    C_LACT,  # the same for noise limit orders (_limit_activity)
    C_LAM_VOL,  # 0.5 ** (snapshot / vol half-life)
    C_LAM_IMB,
    C_SENT_DECAY,
    C_LAM_VALUE,
    C_LOG_DEPTH,  # log(1 - noise_limit_depth_p): the geometric draw's denominator
    C_LOG_SIZE,  # log(1 - noise_limit_size_p)
    C_NEWS_DECAY,  # 0.5 ** (snapshot / news-activity half-life)
) = range(12)
C_PHI0 = 12  # cc[C_PHI0 + i]: the i-th activity factor's OU decay per snapshot
C_COEF0 = C_PHI0 + MAX_ACT_SCALES  # cc[C_COEF0 + i]: its innovation's scale, std * sqrt(1 - phi^2)
C_DECAY0 = C_COEF0 + MAX_ACT_SCALES  # cc[C_DECAY0 + lv]: mm_size_decay ** lv (one per ladder level)


class FlowState(NamedTuple):
    """The background market's arrays as one record: ``run_flow``'s second argument.

    Each array's columns are named by one set of constants above (``FI_*``, ``FF_*``, ``P_*``, ...).
    Buffers that fill up are replaced by larger ones (``run_flow`` returns a ``NEED_*`` status and
    the owner swaps in the grown array with ``_replace``).
    """

    fi: np.ndarray  #: int64[N_FI]: clock (ns), next event, counters, watch bounds (``FI_*``)
    ff: np.ndarray  #: float64[N_FF]: vol, imbalance, activity factors, beliefs (``FF_*``)
    fp: np.ndarray  #: float64: the packed FlowParams (``P_*``; ``market.flow.pack``)
    mm: np.ndarray  #: int64[maker, side_index, level, Q_*]: the makers' live quotes
    noise: np.ndarray  #: int64[n]: oids of resting noise orders (``fi[FI_N_NOISE]`` used)
    u: np.ndarray  #: float64[n]: pre-drawn uniforms (``fi[FI_RNG_POS]`` is the next)
    watches: np.ndarray  #: int64[n, W_*]: price watches (level in ticks, direction, active)
    snaps: np.ndarray  #: int64[n, S_*]: L1 snapshots (``fi[FI_N_SNAP]`` used)
    acct_i: np.ndarray  #: int64[owner, A_*]: position, cash (tick-contracts), volume, trades
    acct_f: np.ndarray  #: float64[owner, AF_*]: average price and realized P&L (ticks)


def new_flow_state(
    fp: np.ndarray,
    uniforms: np.ndarray,
    ref_ticks: int,
    open_s: float,
    close_s: float,
    seconds_per_ns: float,
    n_snapshots: int,
) -> FlowState:
    """A fresh :class:`FlowState` with no accounts (``Exchange.register_owner`` adds them).

    Args:
        fp: the packed FlowParams (``market.flow.pack``).
        uniforms: the first block of uniforms in [0, 1).
        ref_ticks: the reference price (ticks): the value belief's start, the mark of an empty book.
        open_s: exchange-clock second of the 09:30 open (``-session_start_s``).
        close_s: seconds from the open to the 16:00 close.
        seconds_per_ns: the clock unit, 1e-9.
        n_snapshots: initial room for L1 snapshots.
    """
    n_mm = int(fp[P_N_MM])
    fi = np.zeros(N_FI, dtype=np.int64)
    fi[FI_NEXT_T] = -1
    fi[FI_NEXT_OID] = 1
    fi[FI_HIT] = -1
    fi[FI_REF_TICKS] = ref_ticks
    fi[FI_MIN_UP_WATCH] = NO_UP_WATCH
    fi[FI_MAX_DOWN_WATCH] = NO_DOWN_WATCH
    fi[FI_REFILL_T] = NO_REFILL
    ff = np.zeros(N_FF, dtype=np.float64)
    ff[FF_SECONDS_PER_NS] = seconds_per_ns
    ff[FF_OPEN_S] = open_s
    ff[FF_CLOSE_S] = close_s
    ff[FF_VALUE] = float(ref_ticks)
    ff[FF_VALUE_HL_SCALE] = 1.0
    return FlowState(
        fi=fi,
        ff=ff,
        fp=fp,
        mm=np.full((max(n_mm, 1), 2, int(fp[P_MM_LEVELS]), N_QUOTE_FIELDS), -1, dtype=np.int64),
        noise=np.zeros(NOISE_SLOTS, dtype=np.int64),
        u=uniforms,
        watches=np.zeros((0, N_WATCH_FIELDS), dtype=np.int64),
        snaps=np.zeros((n_snapshots, N_SNAP_FIELDS), dtype=np.int64),
        acct_i=np.zeros((0, N_ACCT_I), dtype=np.int64),
        acct_f=np.zeros((0, N_ACCT_F), dtype=np.float64),
    )


MAX_UNIFORMS_PER_STEP = 16  # >= one snapshot: 2 x MAX_ACT_SCALES = 12 uniforms
IMBALANCE_CALM = 0.4  # |signed / total market volume| that random flow alone rarely exceeds

# The parameter indexes below are compile-time constants in numba's on-disk cache, and that cache is
# only invalidated when *this* file changes. So this file records the FlowParams layout it was written
# for: changing the fields of FlowParams fails here until the hash is updated (which edits this file
# and so recompiles the kernels with the new indexes).
FLOW_LAYOUT_SHA1 = "834066ecae3d"
if hashlib.sha1(",".join(FLOW_FIELDS).encode()).hexdigest()[:12] != FLOW_LAYOUT_SHA1:  # pragma: no cover
    raise ImportError("market.flow.FlowParams changed: update FLOW_LAYOUT_SHA1 in market/_flow_kernels.py")

# packed parameter indexes (compile-time constants)
P_N_MM = FP["n_market_makers"]
P_MM_RATE = FP["mm_requote_rate_per_s"]
P_MM_LEVELS = FP["mm_levels"]
P_MM_STEP = FP["mm_level_step_ticks"]
P_MM_SIZE = FP["mm_size_qty"]
P_MM_DECAY = FP["mm_size_decay"]
P_MM_HALF = FP["mm_half_spread_ticks"]
P_MM_MAX_HALF = FP["mm_max_half_spread_ticks"]
P_REF_MAX_SPREAD = FP["reference_max_spread_ticks"]
P_MM_MIN_SIZE = FP["mm_min_size_qty"]
P_MM_SKEW = FP["mm_skew_ticks_per_qty"]
P_MM_MAXINV = FP["mm_max_inventory_qty"]
P_MM_SOFTINV = FP["mm_soft_inventory_qty"]
P_MM_CALM = FP["mm_calm_vol_ann"]
P_MM_W_VOL = FP["mm_withdraw_vol"]
P_MM_W_IMB = FP["mm_withdraw_imbalance"]
P_MM_WIDEN = FP["mm_widen_ticks"]
P_MM_LATENCY = FP["mm_refill_latency_s"]
P_VOL_HL = FP["vol_halflife_s"]
P_IMB_HL = FP["imbalance_halflife_s"]
P_NL_RATE = FP["noise_limit_rate_per_s"]
P_NM_RATE = FP["noise_market_rate_per_s"]
P_NC_HAZARD = FP["noise_cancel_hazard_per_s"]
P_NL_DEPTH_P = FP["noise_limit_depth_p"]
P_NL_IMPROVE = FP["noise_improve_prob"]
P_NL_SIZE_P = FP["noise_limit_size_p"]
P_NM_MIN = FP["noise_market_min_qty"]
P_NM_ALPHA = FP["noise_market_alpha"]
P_NM_MAX = FP["noise_market_max_qty"]
P_NM_PROTECT = FP["noise_market_protection_ticks"]
P_OPEN_BOOST = FP["open_boost"]
P_OPEN_DECAY = FP["open_decay_s"]
P_CLOSE_BOOST = FP["close_boost"]
P_CLOSE_DECAY = FP["close_decay_s"]
P_PREOPEN = FP["preopen_activity"]
P_ACT_VOL = FP["activity_vol"]
P_ACT_HL = FP["activity_halflife_s"]
P_ACT_N = FP["activity_n_scales"]
P_ACT_MIN_HL = FP["activity_min_halflife_s"]
P_ACT_LIMIT_EXP = FP["activity_limit_exponent"]
P_SNAP_S = FP["snapshot_interval_s"]
P_SENT_HL = FP["sentiment_halflife_s"]
P_NEWS_ACT_HL = FP["news_activity_halflife_s"]
P_VALUE_GAIN = FP["value_gain"]
P_VALUE_HL = FP["value_halflife_s"]
P_VALUE_RATE = FP["value_rate_gain"]
P_VALUE_CAP = FP["value_capacity_qty"]
P_DEPTH_W = FP["depth_window_ticks"]

SECONDS_PER_YEAR_OF_TRADING = SESSION_SECONDS * TRADING_DAYS_PER_YEAR  #: trading seconds per year


# ================================================================ compile-time helpers
@intrinsic
def _rt(typingctx, x):
    """``x`` as a plain (run-time) int64, not a literal.

    numba types a constant argument (``CANCEL``, ``0``) as a literal and compiles the callee once
    per distinct literal: ``_send``, with the whole order-book step inlined, was compiled four times
    (about 90 s of a cold compile). Wrapping the constants gives every call one signature.
    """
    if not isinstance(x, types.Integer):
        return None

    def codegen(context, builder, sig, args):
        return context.cast(builder, args[0], sig.args[0], sig.return_type)

    return types.int64(x), codegen


@intrinsic
def _prefetch_row(typingctx, arr, i):
    """Hint the CPU to start loading row ``i`` of a 2-D array into cache (no effect on any value).

    A lookup whose row is far away in memory then overlaps with the work before it, instead of
    stalling when it comes.
    """
    if not isinstance(arr, types.Array) or arr.ndim != 2 or not isinstance(i, types.Integer):
        return None

    def codegen(context, builder, sig, args):
        aryty = sig.args[0]
        ary = context.make_array(aryty)(context, builder, value=args[0])
        row = context.cast(builder, args[1], sig.args[1], types.intp)
        ptr = cgutils.get_item_pointer2(
            context,
            builder,
            data=ary.data,
            shape=cgutils.unpack_tuple(builder, ary.shape),
            strides=cgutils.unpack_tuple(builder, ary.strides),
            layout=aryty.layout,
            inds=[row, context.get_constant(types.intp, 0)],
            wraparound=False,
            boundscheck=False,
        )
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [ptr.type, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        builder.call(fn, [ptr, i32(0), i32(3), i32(1)])  # read, keep in all cache levels, data
        return context.get_dummy_value()

    return types.none(arr, i), codegen


# ================================================================ accounts
@njit(cache=True)
def settle(trades, start, end, acct_i, acct_f):
    """Book trades ``start:end`` into the accounts (average-cost P&L, cash in tick-contracts)."""
    for n in range(start, end):
        price = trades[n, K.T_PRICE]
        qty = trades[n, K.T_QTY]
        if trades[n, K.T_SIDE] == BUY:
            buyer, seller = trades[n, K.T_TAKER_OWNER], trades[n, K.T_MAKER_OWNER]
        else:
            buyer, seller = trades[n, K.T_MAKER_OWNER], trades[n, K.T_TAKER_OWNER]
        _fill(acct_i, acct_f, buyer, qty, price)
        _fill(acct_i, acct_f, seller, -qty, price)


@njit(cache=True, inline="always")
def _fill(acct_i, acct_f, owner, signed_qty, price):
    pos = acct_i[owner, A_POSITION]
    avg = acct_f[owner, AF_AVG_PRICE]
    new = pos + signed_qty
    if pos == 0 or (pos > 0) == (signed_qty > 0):  # opening or adding: new average cost
        acct_f[owner, AF_AVG_PRICE] = (avg * abs(pos) + price * abs(signed_qty)) / abs(new)
    else:  # reducing, closing or flipping: realize on the closed part
        closed = min(abs(signed_qty), abs(pos))
        sign = 1.0 if pos > 0 else -1.0
        acct_f[owner, AF_REALIZED_TICKS] += sign * closed * (price - avg)
        if new == 0:
            acct_f[owner, AF_AVG_PRICE] = 0.0
        elif (new > 0) != (pos > 0):
            acct_f[owner, AF_AVG_PRICE] = price
    acct_i[owner, A_POSITION] = new
    acct_i[owner, A_CASH_TICKS] -= signed_qty * price
    acct_i[owner, A_VOLUME] += abs(signed_qty)
    acct_i[owner, A_N_TRADES] += 1


# ================================================================ watches
@njit(cache=True)
def check_watches(sc, fi, watches):
    """Index of the first active watch the last trade price has reached (and deactivate it), or -1."""
    last = sc[K.SC_LAST]
    if last == 0:
        return -1
    if last < fi[FI_MIN_UP_WATCH]:
        if last > fi[FI_MAX_DOWN_WATCH]:
            return -1
    hit = -1
    for w in range(watches.shape[0]):
        if watches[w, W_ACTIVE] == 1:
            d = watches[w, W_DIR]
            if (d > 0 and last >= watches[w, W_LEVEL]) or (d < 0 and last <= watches[w, W_LEVEL]):
                hit = w
                break
    if hit >= 0:
        watches[hit, W_ACTIVE] = 0
        refresh_watch_bounds(fi, watches)
    return hit


@njit(cache=True)
def refresh_watch_bounds(fi, watches):
    """Recompute the lowest up-watch and highest down-watch levels."""
    lo = NO_UP_WATCH
    hi = NO_DOWN_WATCH
    for w in range(watches.shape[0]):
        if watches[w, W_ACTIVE] == 1:
            if watches[w, W_DIR] > 0:
                lo = min(lo, watches[w, W_LEVEL])
            else:
                hi = max(hi, watches[w, W_LEVEL])
    fi[FI_MIN_UP_WATCH] = lo
    fi[FI_MAX_DOWN_WATCH] = hi


# ================================================================ market state helpers
@njit(cache=True, inline="always")
def _reference_ticks(sc, fi, fp):
    """Mid if both sides quote; else the last trade; else the scenario's reference (ticks, float).

    With ``reference_max_spread_ticks`` > 0 a spread wider than it has a stub quote on one side
    (e.g. an agent's bid far under the price, left as the best bid by a sweep): the last trade,
    clamped into the spread, instead of the mid.
    """
    bid = sc[K.SC_BEST_BID]
    ask = sc[K.SC_BEST_ASK]
    if bid != 0 and ask != 0:
        stub = fp[P_REF_MAX_SPREAD]
        if stub > 0.0 and ask - bid > stub and sc[K.SC_LAST] != 0:
            return float(min(max(sc[K.SC_LAST], bid), ask))
        return 0.5 * (bid + ask)
    if sc[K.SC_LAST] != 0:
        return float(sc[K.SC_LAST])
    if bid != 0:
        return bid + 0.5
    if ask != 0:
        return ask - 0.5
    return float(fi[FI_REF_TICKS])


@njit(cache=True)
def _depth_within(levels, sc, si, window):
    """Contracts resting on side ``si`` within ``window`` ticks of its best price."""
    best = sc[K.SC_BEST_BID] if si == 0 else sc[K.SC_BEST_ASK]
    if best == 0:
        return 0
    minp = sc[K.SC_MIN_PRICE]
    total = 0
    for k in range(window):
        lvl = best - minp - k if si == 0 else best - minp + k
        if lvl < 0 or lvl >= levels.shape[1]:
            break
        total += levels[si, lvl, K.L_QTY]
    return total


@njit(cache=True, inline="always")
def _stress(ff, fp):
    """(vol excess over calm, |imbalance|): the two inputs of the makers' withdrawal."""
    rv_ann = math.sqrt(max(ff[FF_VAR], 0.0) * SECONDS_PER_YEAR_OF_TRADING / fp[P_SNAP_S])
    excess = max(0.0, rv_ann / fp[P_MM_CALM] - 1.0)
    imb = abs(ff[FF_IMB]) / ff[FF_ABS] if ff[FF_ABS] > 1e-12 else 0.0
    return excess, min(imb, 1.0)


@njit(cache=True, inline="always")
def _maker_width(ff, fp):
    """Makers' quoted spread (ticks): wider with vol above calm and with one-sided flow.

    Only imbalance beyond IMBALANCE_CALM counts: random flow alone rarely reaches it. The half-spread
    is capped at the quoting obligation ``mm_max_half_spread_ticks``.
    """
    excess, imb = _stress(ff, fp)
    one_sided = max(0.0, (imb - IMBALANCE_CALM) / (1.0 - IMBALANCE_CALM))
    half = min(fp[P_MM_HALF] + fp[P_MM_WIDEN] * (excess + one_sided), fp[P_MM_MAX_HALF])
    return max(1, int(round(2.0 * half)))


@njit(cache=True, inline="always")
def _inventory_taper(growth, fp):
    """Size multiplier (0-1) on a side whose fills would grow the maker's inventory to ``growth``.

    1 up to ``mm_soft_inventory_qty``, then linear down to 0 at ``mm_max_inventory_qty``: a maker
    loaded with inventory shows less on the side that would add to it, so one-sided flow thins the
    book and moves the price smoothly instead of hitting a cliff at the hard limit.
    """
    soft = fp[P_MM_SOFTINV]
    hard = fp[P_MM_MAXINV]
    if growth >= hard:
        return 0.0
    if growth <= soft:
        return 1.0
    return (hard - growth) / (hard - soft)


@njit(cache=True, inline="always")
def _intraday_shape(ff, fp, t_s):
    """Deterministic intraday activity at ``t_s`` seconds from the open.

    The pre-market level or the U shape, times the burst that follows news (``1 + ff[FF_NEWS_ACT]``).
    """
    if t_s < 0.0:
        shape = fp[P_PREOPEN]
    else:
        shape = 1.0 + fp[P_OPEN_BOOST] * math.exp(-t_s / fp[P_OPEN_DECAY])
        shape = shape + fp[P_CLOSE_BOOST] * math.exp(-(ff[FF_CLOSE_S] - t_s) / fp[P_CLOSE_DECAY])
    if ff[FF_NEWS_ACT] != 0.0:
        shape *= 1.0 + ff[FF_NEWS_ACT]
    return shape


@njit(cache=True, inline="always")
def _act_halflife_s(fp, i, n):
    """Half-life of the i-th of n activity factors: geometric from the fastest to the slowest."""
    if n == 1:
        return fp[P_ACT_HL]
    return fp[P_ACT_MIN_HL] * (fp[P_ACT_HL] / fp[P_ACT_MIN_HL]) ** (i / (n - 1.0))


# ================================================================ derived values (cc)
@njit(cache=True)
def _fill_call_cache(ff, fp, cc):
    """Fill the per-call entries of cc: snapshot decay factors, OU coefficients, size decay per level."""
    dt = fp[P_SNAP_S]
    cc[C_LAM_VOL] = 0.5 ** (dt / fp[P_VOL_HL])
    cc[C_LAM_IMB] = 0.5 ** (dt / fp[P_IMB_HL])
    cc[C_SENT_DECAY] = 0.5 ** (dt / fp[P_SENT_HL])
    cc[C_NEWS_DECAY] = 0.5 ** (dt / fp[P_NEWS_ACT_HL])
    cc[C_LAM_VALUE] = 0.5 ** (dt / (fp[P_VALUE_HL] * ff[FF_VALUE_HL_SCALE]))
    cc[C_LOG_DEPTH] = math.log(1.0 - fp[P_NL_DEPTH_P]) if fp[P_NL_DEPTH_P] < 1 else 0.0
    cc[C_LOG_SIZE] = math.log(1.0 - fp[P_NL_SIZE_P]) if fp[P_NL_SIZE_P] < 1 else 0.0
    n_act = min(int(fp[P_ACT_N]), MAX_ACT_SCALES)  # the bound protects cc (config checks it too)
    std = fp[P_ACT_VOL] if n_act == 1 else fp[P_ACT_VOL] / math.sqrt(n_act)
    for i in range(n_act):
        phi = 0.5 ** (dt / _act_halflife_s(fp, i, n_act))
        cc[C_PHI0 + i] = phi
        cc[C_COEF0 + i] = std * math.sqrt(1.0 - phi * phi)
    for lv in range(int(fp[P_MM_LEVELS])):
        cc[C_DECAY0 + lv] = fp[P_MM_DECAY] ** lv


@njit(cache=True)
def _fill_snapshot_cache(ff, fp, cc):
    """Fill the per-snapshot entries of cc: the makers' stress and width, the activity multipliers.

    Noise market-order activity at ``t_s`` is ``_intraday_shape x cc[C_ACT]``, with
    ``cc[C_ACT] = exp(log activity - activity_vol^2 / 2)`` (mean 1); limit orders use
    ``exp(beta x log activity - beta^2 activity_vol^2 / 2)`` with ``beta = activity_limit_exponent``
    (beta = 1: the same as market orders).
    """
    excess, imb = _stress(ff, fp)
    cc[C_EXCESS] = excess
    cc[C_IMB] = imb
    cc[C_WIDTH] = _maker_width(ff, fp)
    cc[C_ACT] = math.exp(ff[FF_LOG_ACT] - 0.5 * fp[P_ACT_VOL] ** 2)
    beta = fp[P_ACT_LIMIT_EXP]
    if beta == 1.0:
        cc[C_LACT] = cc[C_ACT]
    else:
        s2 = fp[P_ACT_VOL] ** 2
        cc[C_LACT] = math.exp(beta * ff[FF_LOG_ACT] - 0.5 * beta * beta * s2)


# ================================================================ snapshots
@njit(cache=True)
def _snapshot(levels, sc, trades, fi, ff, fp, cc, snaps, u, t_ns):
    """Record L1 at ``t_ns``; update realized vol, imbalance, activity (2 uniforms per activity factor)."""
    n = fi[FI_N_SNAP]
    bid = sc[K.SC_BEST_BID]
    ask = sc[K.SC_BEST_ASK]
    minp = sc[K.SC_MIN_PRICE]
    snaps[n, S_T] = t_ns
    snaps[n, S_BID] = bid
    snaps[n, S_ASK] = ask
    snaps[n, S_LAST] = sc[K.SC_LAST]
    snaps[n, S_BID_QTY] = levels[0, bid - minp, K.L_QTY] if bid != 0 else 0
    snaps[n, S_ASK_QTY] = levels[1, ask - minp, K.L_QTY] if ask != 0 else 0
    w = int(fp[P_DEPTH_W])
    snaps[n, S_DEPTH_BID] = _depth_within(levels, sc, _rt(0), w)
    snaps[n, S_DEPTH_ASK] = _depth_within(levels, sc, _rt(1), w)
    snaps[n, S_VOLUME] = fi[FI_CUM_VOLUME]
    snaps[n, S_MSGS] = sc[K.SC_N_MESSAGES]
    fi[FI_N_SNAP] = n + 1

    mid = _reference_ticks(sc, fi, fp)
    if ff[FF_MID_PREV] > 0.0:
        r = math.log(mid / ff[FF_MID_PREV])
        lam = cc[C_LAM_VOL]
        ff[FF_VAR] = lam * ff[FF_VAR] + (1.0 - lam) * r * r
    ff[FF_MID_PREV] = mid
    lam = cc[C_LAM_IMB]
    ff[FF_IMB] = lam * ff[FF_IMB] + (1.0 - lam) * fi[FI_SIGNED_VOL_1S]
    ff[FF_ABS] = lam * ff[FF_ABS] + (1.0 - lam) * fi[FI_ABS_VOL_1S]
    fi[FI_SIGNED_VOL_1S] = 0
    fi[FI_ABS_VOL_1S] = 0
    ff[FF_SENTIMENT] *= cc[C_SENT_DECAY]
    ff[FF_NEWS_ACT] *= cc[C_NEWS_DECAY]
    lam = cc[C_LAM_VALUE]
    ff[FF_VALUE] = lam * ff[FF_VALUE] + (1.0 - lam) * mid
    if fp[P_VALUE_CAP] > 0.0:  # their capital recycles as their value belief catches up
        ff[FF_VALUE_INV] *= lam
    # log-activity: a sum of OU factors, each an exact OU step with a normal from Box-Muller
    n_act = min(int(fp[P_ACT_N]), MAX_ACT_SCALES)  # the bound protects ff (config checks it too)
    total = 0.0
    for i in range(n_act):
        phi = cc[C_PHI0 + i]
        u1 = max(u[fi[FI_RNG_POS]], 1e-300)
        u2 = u[fi[FI_RNG_POS] + 1]
        fi[FI_RNG_POS] += 2
        z = math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)
        k = FF_ACT_FACTOR0 + i
        ff[k] = phi * ff[k] + cc[C_COEF0 + i] * z
        total += ff[k]
    ff[FF_LOG_ACT] = total


# ================================================================ sending orders
@njit(cache=True, inline="always")
def _send(orders, levels, htab, sc, trades, rejects, fi, t_ns, kind, side, price, qty, oid, owner):
    """Send one message through the book (room was checked by the caller).

    The book's step is the order-book kernel's ``apply_in_room``, compiled once and shared with
    ``apply_message`` (inlining it here compiled the whole matching engine once more). Every
    argument must be a run-time int64 (``_rt`` for constants): a literal would compile another copy.
    """
    fi[FI_N_FLOW_MSGS] += 1
    return K.apply_in_room(
        orders, levels, htab, sc, trades, rejects, t_ns, kind, side, price, _rt(0), qty, oid, owner
    )


@njit(cache=True)
def _requote(orders, levels, htab, sc, trades, rejects, fi, fp, cc, mm, acct_i, m, t_ns):
    """Market maker ``m`` moves its ladder to the current target: keep, resize, cancel or add quotes."""
    n_levels = int(fp[P_MM_LEVELS])
    step = int(fp[P_MM_STEP])
    owner = fi[FI_OWNER_MM0] + m
    inv = acct_i[owner, A_POSITION]
    size_factor = 1.0 / (1.0 + fp[P_MM_W_VOL] * cc[C_EXCESS] + fp[P_MM_W_IMB] * cc[C_IMB])
    width = int(cc[C_WIDTH])
    ref = _reference_ticks(sc, fi, fp) - fp[P_MM_SKEW] * inv
    # a mid exactly on a tick (2-tick spread) is broken toward the last aggressor: the maker steps in
    # on the side the market is moving to, so the spread closes at the new price, not the old one
    n_tr = sc[K.SC_N_TRADES]
    if n_tr > 0:
        ref += 0.01 * trades[n_tr - 1, K.T_SIDE]
    bid0 = int(math.floor(ref - 0.5 * width + 0.5))
    ask0 = bid0 + width
    # post only: never cross the opposite best
    if sc[K.SC_BEST_ASK] != 0 and bid0 >= sc[K.SC_BEST_ASK]:
        bid0 = sc[K.SC_BEST_ASK] - 1
    if sc[K.SC_BEST_BID] != 0 and ask0 <= sc[K.SC_BEST_BID]:
        ask0 = sc[K.SC_BEST_BID] + 1
    minp = sc[K.SC_MIN_PRICE]
    maxp = sc[K.SC_MAX_PRICE]
    # the ladder's hash lookups below mostly miss the cache (its rows are scattered over the table):
    # start them all now, so the misses overlap instead of coming one after another
    mask = htab.shape[0] - 1
    for si in range(2):
        for lv in range(n_levels):
            oid = mm[m, si, lv, Q_OID]
            if oid >= 0:
                _prefetch_row(htab, K._hash_index(oid, mask))
    for si in range(2):
        side = BUY if si == 0 else SELL
        taper = _inventory_taper(inv if si == 0 else -inv, fp)  # 0: at the hard inventory limit
        touch_qty = max(fp[P_MM_SIZE] * size_factor * taper, fp[P_MM_MIN_SIZE])  # the obligation
        for lv in range(n_levels):
            target_price = bid0 - lv * step if si == 0 else ask0 + lv * step
            target_qty = int(round(touch_qty * cc[C_DECAY0 + lv]))
            if taper == 0.0 or target_price < minp or target_price > maxp:
                target_qty = 0
            oid = mm[m, si, lv, Q_OID]
            slot = K.hash_get(htab, oid) if oid >= 0 else -1
            live_qty = orders[slot, K.O_QTY] if slot >= 0 else 0
            if slot >= 0 and orders[slot, K.O_PRICE] == target_price and target_qty > 0:
                if abs(live_qty - target_qty) * 4 > target_qty:
                    _send(
                        orders,
                        levels,
                        htab,
                        sc,
                        trades,
                        rejects,
                        fi,
                        t_ns,
                        _rt(MODIFY),
                        _rt(0),
                        _rt(0),
                        target_qty,
                        oid,
                        owner,
                    )
                continue
            if slot >= 0:
                _send(
                    orders,
                    levels,
                    htab,
                    sc,
                    trades,
                    rejects,
                    fi,
                    t_ns,
                    _rt(CANCEL),
                    _rt(0),
                    _rt(0),
                    _rt(0),
                    oid,
                    owner,
                )
            mm[m, si, lv, Q_OID] = -1
            if target_qty > 0:
                new_oid = fi[FI_NEXT_OID]
                fi[FI_NEXT_OID] += 1
                _send(
                    orders,
                    levels,
                    htab,
                    sc,
                    trades,
                    rejects,
                    fi,
                    t_ns,
                    _rt(LIMIT),
                    side,
                    target_price,
                    target_qty,
                    new_oid,
                    owner,
                )
                mm[m, si, lv, Q_OID] = new_oid
                mm[m, si, lv, Q_PRICE] = target_price
                mm[m, si, lv, Q_QTY] = target_qty


@njit(cache=True, inline="always")
def _capacity_left(ff, fp, direction):
    """Share (0-1) of the value traders' capacity left for trading in ``direction`` (+1 buy, -1 sell).

    1 without a capacity (``value_capacity_qty`` 0); else falls linearly to 0 as their inventory in
    that direction reaches the capacity: value investors who have bought the dip stop buying it.
    """
    cap = fp[P_VALUE_CAP]
    if cap <= 0.0:
        return 1.0
    return max(0.0, 1.0 - max(0.0, direction * ff[FF_VALUE_INV]) / cap)


@njit(cache=True, inline="always")
def _value_pull(sc, fi, ff, fp):
    """The value traders' buy bias: value_gain * (value - mid) / mid, times their capacity left."""
    mid = _reference_ticks(sc, fi, fp)
    pull = fp[P_VALUE_GAIN] * (ff[FF_VALUE] - mid) / mid
    if fp[P_VALUE_CAP] > 0.0:
        pull *= _capacity_left(ff, fp, 1.0 if pull > 0.0 else -1.0)
    return pull


@njit(cache=True, inline="always")
def _lean(sc, fi, ff, fp):
    """Noise traders' buy bias in [-0.95, 0.95]: sentiment plus the pull of the value belief."""
    lean = ff[FF_SENTIMENT] + _value_pull(sc, fi, ff, fp)
    return min(max(lean, -0.95), 0.95)


@njit(cache=True, inline="always")
def _remember_if_resting(htab, fi, noise, oid):
    """A noise order that rests joins the list later cancels draw from (room was checked)."""
    if K.hash_get(htab, oid) >= 0:
        noise[fi[FI_N_NOISE]] = oid
        fi[FI_N_NOISE] += 1


@njit(cache=True)
def _noise_limit(orders, levels, htab, sc, trades, rejects, fi, ff, fp, cc, noise, u, t_ns):
    pos = fi[FI_RNG_POS]
    side = BUY if u[pos] < 0.5 * (1.0 + _lean(sc, fi, ff, fp)) else SELL
    k = 0
    if fp[P_NL_DEPTH_P] < 1:
        k = int(math.floor(math.log(max(u[pos + 1], 1e-300)) / cc[C_LOG_DEPTH]))
    qty = 1
    if fp[P_NL_SIZE_P] < 1:
        qty += int(math.floor(math.log(max(u[pos + 2], 1e-300)) / cc[C_LOG_SIZE]))
    qty = min(qty, int(fp[P_NM_MAX]))  # one cap for every noise order keeps the trade bound valid
    improve = u[pos + 3] < fp[P_NL_IMPROVE]
    fi[FI_RNG_POS] = pos + 4
    bid = sc[K.SC_BEST_BID]
    ask = sc[K.SC_BEST_ASK]
    ref = _reference_ticks(sc, fi, fp)
    if side == BUY:
        touch = bid if bid != 0 else int(math.floor(ref - 0.5))
        price = touch - k
        if improve and bid != 0 and ask != 0 and ask - bid > 1:
            price = bid + 1
    else:
        touch = ask if ask != 0 else int(math.ceil(ref + 0.5))
        price = touch + k
        if improve and bid != 0 and ask != 0 and ask - bid > 1:
            price = ask - 1
    if price < sc[K.SC_MIN_PRICE] or price > sc[K.SC_MAX_PRICE]:
        return
    oid = fi[FI_NEXT_OID]
    fi[FI_NEXT_OID] += 1
    _send(
        orders,
        levels,
        htab,
        sc,
        trades,
        rejects,
        fi,
        t_ns,
        _rt(LIMIT),
        side,
        price,
        qty,
        oid,
        fi[FI_OWNER_NOISE],
    )
    _remember_if_resting(htab, fi, noise, oid)


@njit(cache=True)
def _noise_market(orders, levels, htab, sc, trades, rejects, fi, ff, fp, noise, u, t_ns):
    """A noise market order; with ``noise_market_protection_ticks`` a market order with protection.

    With protection (CME Globex's implementation of market orders) the order is a limit order at the
    opposite best plus the protection (a buy) or minus it (a sell); the part it cannot fill there
    rests at that price, so a sweep stops after ``protection`` ticks and leaves a quote behind. With
    the opposite side empty the protection is counted from the reference (mid, else last trade): an
    unmatched buy becomes a bid, it is not lost while the sellers walk the bids down.
    """
    pos = fi[FI_RNG_POS]
    side = BUY if u[pos] < 0.5 * (1.0 + _lean(sc, fi, ff, fp)) else SELL
    size = fp[P_NM_MIN] * max(u[pos + 1], 1e-12) ** (-1.0 / fp[P_NM_ALPHA])
    qty = int(min(math.floor(size), fp[P_NM_MAX]))
    fi[FI_RNG_POS] = pos + 2
    if qty < 1:
        qty = 1
    if fp[P_VALUE_CAP] > 0.0:  # the value traders' expected share of this order joins their inventory
        ff[FF_VALUE_INV] += qty * _value_pull(sc, fi, ff, fp)
    oid = fi[FI_NEXT_OID]
    fi[FI_NEXT_OID] += 1
    protection = int(fp[P_NM_PROTECT])
    kind = _rt(MARKET)
    price = _rt(0)
    if protection > 0 and side == BUY:
        base = sc[K.SC_BEST_ASK] if sc[K.SC_BEST_ASK] != 0 else int(math.ceil(_reference_ticks(sc, fi, fp)))
        kind, price = _rt(LIMIT), min(base + protection, sc[K.SC_MAX_PRICE])
    elif protection > 0:
        base = sc[K.SC_BEST_BID] if sc[K.SC_BEST_BID] != 0 else int(math.floor(_reference_ticks(sc, fi, fp)))
        kind, price = _rt(LIMIT), max(base - protection, sc[K.SC_MIN_PRICE])
    _send(
        orders, levels, htab, sc, trades, rejects, fi, t_ns, kind, side, price, qty, oid, fi[FI_OWNER_NOISE]
    )
    if protection > 0:  # the unfilled rest rests: later cancels may take it
        _remember_if_resting(htab, fi, noise, oid)


@njit(cache=True)
def _noise_cancel(orders, levels, htab, sc, trades, rejects, fi, noise, u, t_ns):
    """Cancel a uniformly chosen live noise order (stale, already-filled entries are dropped)."""
    for _ in range(4):
        n = fi[FI_N_NOISE]
        if n == 0:
            return
        j = int(u[fi[FI_RNG_POS]] * n)
        fi[FI_RNG_POS] += 1
        if j >= n:
            j = n - 1
        oid = noise[j]
        noise[j] = noise[n - 1]
        fi[FI_N_NOISE] = n - 1
        if K.hash_get(htab, oid) >= 0:
            _send(
                orders,
                levels,
                htab,
                sc,
                trades,
                rejects,
                fi,
                t_ns,
                _rt(CANCEL),
                _rt(0),
                _rt(0),
                _rt(0),
                oid,
                fi[FI_OWNER_NOISE],
            )
            return


@njit(cache=True, inline="always")
def _total_rates(ff, fp, cc, fi, t_s):
    r_mm = fp[P_N_MM] * fp[P_MM_RATE]
    shape = _intraday_shape(ff, fp, t_s)
    r_lim = fp[P_NL_RATE] * (shape * cc[C_LACT])
    r_mkt = fp[P_NM_RATE] * (shape * cc[C_ACT])
    if fp[P_VALUE_RATE] > 0.0 and ff[FF_MID_PREV] > 0.0:  # value investors come in size far from value
        gap = ff[FF_VALUE] / ff[FF_MID_PREV] - 1.0
        extra = fp[P_VALUE_RATE] * 100.0 * abs(gap)
        if fp[P_VALUE_CAP] > 0.0:
            extra *= _capacity_left(ff, fp, 1.0 if gap > 0.0 else -1.0)
        r_mkt *= 1.0 + extra
    r_can = fp[P_NC_HAZARD] * fi[FI_N_NOISE]
    return r_mm, r_lim, r_mkt, r_can


@njit(cache=True)
def _draw_next_event(fi, ff, fp, cc, u):
    """Draw the time and kind of the next background event (uses 3 uniforms)."""
    now = fi[FI_NOW]
    t_s = now * ff[FF_SECONDS_PER_NS] - ff[FF_OPEN_S]
    r_mm, r_lim, r_mkt, r_can = _total_rates(ff, fp, cc, fi, t_s)
    total = r_mm + r_lim + r_mkt + r_can
    pos = fi[FI_RNG_POS]
    fi[FI_RNG_POS] = pos + 3
    if total <= 0.0:
        fi[FI_NEXT_T] = np.iinfo(np.int64).max
        fi[FI_NEXT_KIND] = -1
        return
    dt_s = -math.log(max(u[pos], 1e-300)) / total
    fi[FI_NEXT_T] = now + max(1, int(dt_s / ff[FF_SECONDS_PER_NS]))
    x = u[pos + 1] * total
    if x < r_mm:
        fi[FI_NEXT_KIND] = EV_REQUOTE
        fi[FI_NEXT_WHO] = min(int(u[pos + 2] * fp[P_N_MM]), int(fp[P_N_MM]) - 1)
    elif x < r_mm + r_lim:
        fi[FI_NEXT_KIND] = EV_NOISE_LIMIT
    elif x < r_mm + r_lim + r_mkt:
        fi[FI_NEXT_KIND] = EV_NOISE_MARKET
    else:
        fi[FI_NEXT_KIND] = EV_NOISE_CANCEL


@njit(cache=True)
def settle_new(trades, sc, fi, acct_i, acct_f):
    """Settle every trade printed since the last call into the accounts and the volume counters."""
    start = fi[FI_SETTLED]
    end = sc[K.SC_N_TRADES]
    if end > start:
        settle(trades, start, end, acct_i, acct_f)
        for n in range(start, end):
            q = trades[n, K.T_QTY]
            fi[FI_CUM_VOLUME] += q
            fi[FI_ABS_VOL_1S] += q
            fi[FI_SIGNED_VOL_1S] += q * trades[n, K.T_SIDE]
        fi[FI_SETTLED] = end


@njit(cache=True)
def _schedule_refill(sc, fi, ff, fp, cc, u, t_ns):
    """If the spread opened wider than the makers' width, a maker requotes after its latency.

    The refill is a separate pending event: the Poisson events keep arriving meanwhile.
    """
    if fi[FI_REFILL_T] != NO_REFILL:
        return
    bid = sc[K.SC_BEST_BID]
    ask = sc[K.SC_BEST_ASK]
    width = int(cc[C_WIDTH])
    if bid != 0 and ask != 0 and ask - bid <= width:
        return
    pos = fi[FI_RNG_POS]
    fi[FI_RNG_POS] = pos + 1
    fi[FI_REFILL_T] = t_ns + max(1, int(fp[P_MM_LATENCY] / ff[FF_SECONDS_PER_NS]))
    fi[FI_REFILL_WHO] = min(int(u[pos] * fp[P_N_MM]), int(fp[P_N_MM]) - 1)


@njit(cache=True)
def _compact_noise(htab, fi, noise):
    """Drop filled or cancelled orders from the noise traders' list (keeps the cancel hazard per order)."""
    n = fi[FI_N_NOISE]
    k = 0
    mask = htab.shape[0] - 1
    for i in range(min(n, PREFETCH_AHEAD)):
        _prefetch_row(htab, K._hash_index(noise[i], mask))
    for i in range(n):
        if i + PREFETCH_AHEAD < n:  # the lookups miss the cache: keep a few in flight
            _prefetch_row(htab, K._hash_index(noise[i + PREFETCH_AHEAD], mask))
        if K.hash_get(htab, noise[i]) >= 0:
            noise[k] = noise[i]
            k += 1
    fi[FI_N_NOISE] = k


# ================================================================ the loop
@njit(cache=True, inline="always")
def _after_event(trades, sc, fi, watches, acct_i, acct_f):
    """Settle the event's trades and check the watches; -1 or the watch hit.

    The calls' own first tests are made here, inline: most events print no trade and move no price
    to a watch, and a compiled call passes every array as its fields (7-9 machine words), mostly on the stack.
    """
    if sc[K.SC_N_TRADES] > fi[FI_SETTLED]:
        settle_new(trades, sc, fi, acct_i, acct_f)
    last = sc[K.SC_LAST]
    if last == 0 or (last < fi[FI_MIN_UP_WATCH] and last > fi[FI_MAX_DOWN_WATCH]):
        return -1
    return check_watches(sc, fi, watches)


@njit(cache=True)
def event_bounds(fp):
    """(most messages, most contracts per message) one background event can send."""
    max_msgs = 4 * int(fp[P_MM_LEVELS]) + 2
    maker_size = max(fp[P_MM_SIZE], fp[P_MM_MIN_SIZE])
    max_qty = int(max(fp[P_NM_MAX], maker_size * max(1.0, fp[P_MM_DECAY]) ** fp[P_MM_LEVELS])) + 1
    return max_msgs, max_qty


@njit(cache=True)
def _run(
    orders,
    levels,
    htab,
    sc,
    trades,
    rejects,
    fi,
    ff,
    fp,
    mm,
    noise,
    u,
    watches,
    snaps,
    acct_i,
    acct_f,
    cc,
    t_end,
):
    max_msgs, max_qty = event_bounds(fp)
    snap_ns = int(round(fp[P_SNAP_S] / ff[FF_SECONDS_PER_NS]))
    _fill_call_cache(ff, fp, cc)
    _fill_snapshot_cache(ff, fp, cc)  # the Python side may have changed ff since the last call
    while True:
        if fi[FI_NEXT_T] < 0:
            if fi[FI_RNG_POS] + MAX_UNIFORMS_PER_STEP > u.shape[0]:
                return NEED_RANDOMS
            _draw_next_event(fi, ff, fp, cc, u)
        refill = fi[FI_REFILL_T] < fi[FI_NEXT_T]
        t_ev = fi[FI_REFILL_T] if refill else fi[FI_NEXT_T]
        horizon = min(t_ev, t_end)
        while fi[FI_NEXT_SNAP] <= horizon:
            if fi[FI_N_SNAP] >= snaps.shape[0]:
                return NEED_SNAPSHOTS
            if fi[FI_RNG_POS] + MAX_UNIFORMS_PER_STEP > u.shape[0]:
                return NEED_RANDOMS
            _snapshot(levels, sc, trades, fi, ff, fp, cc, snaps, u, fi[FI_NEXT_SNAP])
            _fill_snapshot_cache(ff, fp, cc)
            _compact_noise(htab, fi, noise)
            fi[FI_NEXT_SNAP] += snap_ns
        if t_ev > t_end:
            fi[FI_NOW] = t_end
            return DONE
        if not K.has_room(orders, htab, sc, trades, rejects, max_msgs, max_qty):
            return NEED_CAPACITY
        if fi[FI_RNG_POS] + MAX_UNIFORMS_PER_STEP > u.shape[0]:
            return NEED_RANDOMS
        if fi[FI_N_NOISE] >= noise.shape[0]:
            return NEED_NOISE_SLOTS
        fi[FI_NOW] = t_ev
        if refill:
            fi[FI_REFILL_T] = NO_REFILL
            _requote(
                orders, levels, htab, sc, trades, rejects, fi, fp, cc, mm, acct_i, fi[FI_REFILL_WHO], t_ev
            )
            hit = _after_event(trades, sc, fi, watches, acct_i, acct_f)
            if hit >= 0:
                fi[FI_HIT] = hit
                return WATCH_HIT
            continue
        kind = fi[FI_NEXT_KIND]
        if kind == EV_REQUOTE:
            _requote(orders, levels, htab, sc, trades, rejects, fi, fp, cc, mm, acct_i, fi[FI_NEXT_WHO], t_ev)
        elif kind == EV_NOISE_LIMIT:
            _noise_limit(orders, levels, htab, sc, trades, rejects, fi, ff, fp, cc, noise, u, t_ev)
        elif kind == EV_NOISE_MARKET:
            _noise_market(orders, levels, htab, sc, trades, rejects, fi, ff, fp, noise, u, t_ev)
        elif kind == EV_NOISE_CANCEL:
            _noise_cancel(orders, levels, htab, sc, trades, rejects, fi, noise, u, t_ev)
        fi[FI_NEXT_T] = -1
        if kind != EV_REQUOTE and fp[P_N_MM] > 0 and fi[FI_REFILL_T] == NO_REFILL:
            _schedule_refill(sc, fi, ff, fp, cc, u, t_ev)
        hit = _after_event(trades, sc, fi, watches, acct_i, acct_f)
        if hit >= 0:
            fi[FI_HIT] = hit
            return WATCH_HIT


def run_flow(book: BookState, st: FlowState, t_end: int) -> int:
    """Advance the background market to ``t_end`` ns; return ``DONE``, ``WATCH_HIT`` or ``NEED_*``.

    ``book`` is the order book's ``market.lob.BookState`` (``OrderBook.state``), ``st`` the
    :class:`FlowState`. The records are unpacked here, in Python, on purpose: numba's dispatcher types
    a NamedTuple of arrays in Python code, element by element (measured: 3.0 us a call, +2.6 us per
    ``Exchange.advance_to``, about +0.3 s of CPU on a nov20 day), while plain array arguments take its
    C fast path. The compiled entry point is :func:`_run_flow`.
    """
    return _run_flow(*book, *st, t_end)


@njit(cache=True)
def _run_flow(
    orders, levels, htab, sc, trades, rejects, fi, ff, fp, mm, noise, u, watches, snaps, acct_i, acct_f, t_end
):
    """``run_flow`` on the unpacked records (``BookState`` fields, then ``FlowState`` fields)."""
    cc = np.empty(C_DECAY0 + max(int(fp[P_MM_LEVELS]), 1))  # derived values, filled by _run
    return _run(
        borrow(orders),
        borrow(levels),
        borrow(htab),
        borrow(sc),
        borrow(trades),
        borrow(rejects),
        borrow(fi),
        borrow(ff),
        borrow(fp),
        borrow(mm),
        borrow(noise),
        borrow(u),
        borrow(watches),
        borrow(snaps),
        borrow(acct_i),
        borrow(acct_f),
        borrow(cc),
        t_end,
    )
