"""Compiled matching core of the limit order book: ``@njit(cache=True)`` functions over plain arrays.

Private module. ``market.lob`` wraps it; the exchange and the background flow call
``apply_message`` directly from their own compiled loops. No Python objects in here.

State (all ``int64``; every price in ticks, every quantity in contracts):

* ``orders[slot, O_*]``: the order table. A slot holds a resting order or a pending stop, linked
  into a FIFO list (its price level, or its trigger level) through ``O_NEXT``/``O_PREV``. Free
  slots form a singly linked free list through ``O_NEXT``.
* ``levels[side_index, price - min_price, L_*]``: per price level the FIFO of resting orders
  (head, tail, total quantity, order count) and the FIFO of pending stops whose trigger is that
  price. ``side_index`` 0 = bid/buy, 1 = ask/sell.
* ``htab[slot, 0/1]``: open-addressing hash map oid -> order slot (linear probing, backward-shift
  deletion, so no tombstones). Holds exactly the live orders.
* ``sc[SC_*]``: scalars (best prices, last trade, counters, quantity accounting).
* ``trades[n, T_*]`` and ``rejects[n, R_*]``: append-only output buffers.

Capacity never runs out silently: before each message ``has_capacity`` checks that the worst case
of that message fits (one new slot, one hash entry, one reject, and a bound on the trades it can
print); if not, ``grow_for`` reallocates at the message boundary and returns the new arrays.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from market._borrow import borrow
from market.types import (
    ACCEPTED,
    BUY,
    CANCEL,
    IOC,
    LIMIT,
    MARKET,
    MAX_QTY,
    MODIFY,
    REJECT_BAD_KIND,
    REJECT_BAD_OID,
    REJECT_BAD_QTY,
    REJECT_BAD_SIDE,
    REJECT_DUPLICATE_OID,
    REJECT_NO_PRICE,
    REJECT_NO_TRIGGER,
    REJECT_NOT_RESTING,
    REJECT_PRICE_BAND,
    REJECT_QTY_RANGE,
    REJECT_TIME_ORDER,
    REJECT_TRIGGER_BAND,
    REJECT_UNKNOWN_OID,
    SELL,
    STOP,
    STOP_LIMIT,
)

# ---- order table fields ----
O_OID, O_SIDE, O_PRICE, O_QTY, O_OWNER, O_NEXT, O_PREV, O_TIME, O_KIND, O_TRIGGER, O_SEQ, O_STATE = range(12)
N_ORDER_FIELDS = 12
STATE_FREE, STATE_RESTING, STATE_STOP = 0, 1, 2

# ---- level fields ----
L_HEAD, L_TAIL, L_QTY, L_COUNT, L_STOP_HEAD, L_STOP_TAIL = range(6)
N_LEVEL_FIELDS = 6

# ---- scalars ----
(
    SC_MIN_PRICE,
    SC_MAX_PRICE,
    SC_BEST_BID,
    SC_BEST_ASK,
    SC_LAST,
    SC_CLOCK,
    SC_FREE_HEAD,
    SC_N_BID_ORDERS,
    SC_N_ASK_ORDERS,
    SC_N_BUY_STOPS,
    SC_N_SELL_STOPS,
    SC_MIN_BUY_STOP,
    SC_MAX_SELL_STOP,
    SC_N_TRADES,
    SC_N_REJECTS,
    SC_N_MESSAGES,
    SC_HASH_COUNT,
    SC_SEQ,
    SC_SUBMITTED,
    SC_FILLED,
    SC_RESTING_QTY,
    SC_STOP_QTY,
    SC_CANCELLED,
    SC_DROPPED,
) = range(24)
N_SCALARS = 24

# ---- output buffers ----
T_TIME, T_TAKER_OID, T_MAKER_OID, T_TAKER_OWNER, T_MAKER_OWNER, T_PRICE, T_QTY, T_SIDE = range(8)
N_TRADE_FIELDS = 8
R_TIME, R_OID, R_INDEX, R_REASON = range(4)
N_REJECT_FIELDS = 4

EMPTY_KEY = -1
HASH_MULT = -7046029254386353131  # 0x9E3779B97F4A7C15 as int64


# ================================================================ allocation and growth
def new_state(min_price: int, max_price: int, capacity: int):
    """Allocate an empty book: ``(orders, levels, htab, sc, trades, rejects)``."""
    capacity = max(int(capacity), 4)
    orders = np.zeros((capacity, N_ORDER_FIELDS), dtype=np.int64)
    orders[:, O_NEXT] = np.arange(1, capacity + 1)
    orders[-1, O_NEXT] = -1
    n_levels = max_price - min_price + 1
    levels = np.zeros((2, n_levels, N_LEVEL_FIELDS), dtype=np.int64)
    for f in (L_HEAD, L_TAIL, L_STOP_HEAD, L_STOP_TAIL):
        levels[:, :, f] = -1
    hcap = 1
    while hcap < 2 * capacity:
        hcap *= 2
    htab = np.full((hcap, 2), EMPTY_KEY, dtype=np.int64)
    sc = np.zeros(N_SCALARS, dtype=np.int64)
    sc[SC_MIN_PRICE] = min_price
    sc[SC_MAX_PRICE] = max_price
    sc[SC_FREE_HEAD] = 0
    trades = np.zeros((max(capacity, 16), N_TRADE_FIELDS), dtype=np.int64)
    rejects = np.zeros((16, N_REJECT_FIELDS), dtype=np.int64)
    return orders, levels, htab, sc, trades, rejects


def _grow_orders(orders, sc):
    """Double the order table; the new slots go to the front of the free list."""
    old = orders.shape[0]
    out = np.zeros((2 * old, orders.shape[1]), dtype=np.int64)
    out[:old] = orders
    out[old : 2 * old - 1, O_NEXT] = np.arange(old + 1, 2 * old)
    out[2 * old - 1, O_NEXT] = sc[SC_FREE_HEAD]
    sc[SC_FREE_HEAD] = old
    return out


def _with_rows(a, rows, used):
    """``a`` copied into a new zeroed array of ``rows`` rows (only the first ``used`` rows are copied)."""
    out = np.zeros((rows, a.shape[1]), dtype=a.dtype)
    out[:used] = a[:used]
    return out


# ================================================================ hash map oid -> slot
@njit(cache=True, inline="always")
def _hash_index(key, mask):
    # Fibonacci hashing (top bits of key * 2^64/phi) of key // 4, keeping key % 4 as the low bits:
    # 4 consecutive oids share one 64-byte cache line (new orders arrive with rising oids, so the
    # duplicate check and the insert of a new order hit a line already in cache), while the
    # groups of 4 still scatter over the table. Measured +20% on bench_lob's stream. A plain
    # identity-like hash keeps consecutive oids together but builds long linear-probing
    # clusters: measured 2x slower.
    return ((((key >> 2) * HASH_MULT) >> 20) << 2 | (key & 3)) & mask


@njit(cache=True, inline="always")
def hash_get(htab, key):
    """Slot of live order ``key``, or -1."""
    mask = htab.shape[0] - 1
    i = _hash_index(key, mask)
    while True:
        k = htab[i, 0]
        if k == key:
            return htab[i, 1]
        if k == EMPTY_KEY:
            return -1
        i = (i + 1) & mask


@njit(cache=True, inline="always")
def _hash_put(htab, key, value):
    mask = htab.shape[0] - 1
    i = _hash_index(key, mask)
    while htab[i, 0] != EMPTY_KEY and htab[i, 0] != key:
        i = (i + 1) & mask
    htab[i, 0] = key
    htab[i, 1] = value


@njit(cache=True, inline="always")
def _hash_del(htab, key):
    mask = htab.shape[0] - 1
    i = _hash_index(key, mask)
    while htab[i, 0] != key:
        if htab[i, 0] == EMPTY_KEY:
            return
        i = (i + 1) & mask
    j = i
    while True:  # backward-shift deletion keeps every probe chain unbroken
        j = (j + 1) & mask
        kj = htab[j, 0]
        if kj == EMPTY_KEY:
            break
        home = _hash_index(kj, mask)
        if i <= j:
            stays = i < home <= j
        else:
            stays = home > i or home <= j
        if not stays:
            htab[i, 0] = kj
            htab[i, 1] = htab[j, 1]
            i = j
    htab[i, 0] = EMPTY_KEY


@njit(cache=True)
def _grow_hash(htab):
    out = np.full((htab.shape[0] * 2, 2), EMPTY_KEY, dtype=np.int64)
    for i in range(htab.shape[0]):
        if htab[i, 0] != EMPTY_KEY:
            _hash_put(out, htab[i, 0], htab[i, 1])
    return out


# ================================================================ slots and FIFO lists
@njit(cache=True, inline="always")
def _alloc(orders, sc):
    s = sc[SC_FREE_HEAD]
    sc[SC_FREE_HEAD] = orders[s, O_NEXT]
    return s


@njit(cache=True, inline="always")
def _free(orders, sc, s):
    orders[s, O_STATE] = STATE_FREE
    orders[s, O_NEXT] = sc[SC_FREE_HEAD]
    sc[SC_FREE_HEAD] = s


@njit(cache=True, inline="always")
def _append(orders, levels, si, lvl, s, head_f, tail_f):
    tail = levels[si, lvl, tail_f]
    orders[s, O_PREV] = tail
    orders[s, O_NEXT] = -1
    if tail == -1:
        levels[si, lvl, head_f] = s
    else:
        orders[tail, O_NEXT] = s
    levels[si, lvl, tail_f] = s


@njit(cache=True, inline="always")
def _unlink(orders, levels, si, lvl, s, head_f, tail_f):
    prv = orders[s, O_PREV]
    nxt = orders[s, O_NEXT]
    if prv == -1:
        levels[si, lvl, head_f] = nxt
    else:
        orders[prv, O_NEXT] = nxt
    if nxt == -1:
        levels[si, lvl, tail_f] = prv
    else:
        orders[nxt, O_PREV] = prv


@njit(cache=True, inline="always")
def _new_slot(orders, htab, sc, oid):
    """Take a free slot for a new live order ``oid`` and index it."""
    s = _alloc(orders, sc)
    _hash_put(htab, oid, s)
    sc[SC_HASH_COUNT] += 1
    return s


@njit(cache=True, inline="always")
def _fill_slot(orders, s, oid, side, price, qty, owner, time, kind):
    orders[s, O_OID] = oid
    orders[s, O_SIDE] = side
    orders[s, O_PRICE] = price
    orders[s, O_QTY] = qty
    orders[s, O_OWNER] = owner
    orders[s, O_TIME] = time
    orders[s, O_KIND] = kind


# ================================================================ resting orders
@njit(cache=True, inline="always")
def _refresh_best(levels, sc, si):
    """Move the best price of side ``si`` away from the touch past empty levels."""
    minp = sc[SC_MIN_PRICE]
    if si == 0:
        if sc[SC_N_BID_ORDERS] == 0:
            sc[SC_BEST_BID] = 0
            return
        lvl = sc[SC_BEST_BID] - minp
        while levels[0, lvl, L_COUNT] == 0:
            lvl -= 1
        sc[SC_BEST_BID] = lvl + minp
    else:
        if sc[SC_N_ASK_ORDERS] == 0:
            sc[SC_BEST_ASK] = 0
            return
        lvl = sc[SC_BEST_ASK] - minp
        while levels[1, lvl, L_COUNT] == 0:
            lvl += 1
        sc[SC_BEST_ASK] = lvl + minp


@njit(cache=True, inline="always")
def _rest(orders, levels, sc, s):
    """Put the order in slot ``s`` (fields set) at the back of its price level."""
    side = orders[s, O_SIDE]
    price = orders[s, O_PRICE]
    qty = orders[s, O_QTY]
    si = 0 if side == BUY else 1
    lvl = price - sc[SC_MIN_PRICE]
    orders[s, O_STATE] = STATE_RESTING
    _append(orders, levels, si, lvl, s, L_HEAD, L_TAIL)
    levels[si, lvl, L_QTY] += qty
    levels[si, lvl, L_COUNT] += 1
    sc[SC_RESTING_QTY] += qty
    if si == 0:
        sc[SC_N_BID_ORDERS] += 1
        if sc[SC_BEST_BID] == 0 or price > sc[SC_BEST_BID]:
            sc[SC_BEST_BID] = price
    else:
        sc[SC_N_ASK_ORDERS] += 1
        if sc[SC_BEST_ASK] == 0 or price < sc[SC_BEST_ASK]:
            sc[SC_BEST_ASK] = price


@njit(cache=True, inline="always")
def _unrest(orders, levels, sc, s):
    """Take the resting order in slot ``s`` out of its level (the slot is not freed)."""
    si = 0 if orders[s, O_SIDE] == BUY else 1
    price = orders[s, O_PRICE]
    lvl = price - sc[SC_MIN_PRICE]
    qty = orders[s, O_QTY]
    _unlink(orders, levels, si, lvl, s, L_HEAD, L_TAIL)
    levels[si, lvl, L_QTY] -= qty
    levels[si, lvl, L_COUNT] -= 1
    sc[SC_RESTING_QTY] -= qty
    if si == 0:
        sc[SC_N_BID_ORDERS] -= 1
        if price == sc[SC_BEST_BID] and levels[0, lvl, L_COUNT] == 0:
            _refresh_best(levels, sc, 0)
    else:
        sc[SC_N_ASK_ORDERS] -= 1
        if price == sc[SC_BEST_ASK] and levels[1, lvl, L_COUNT] == 0:
            _refresh_best(levels, sc, 1)


# ================================================================ matching
@njit(cache=True, inline="always")
def _take(orders, levels, htab, sc, trades, time, side, limit_price, qty, oid, owner):
    """Match an incoming order against the opposite side. ``limit_price`` 0 = market.

    Returns the unfilled quantity. The trade buffer has room (see ``has_capacity``).
    """
    minp = sc[SC_MIN_PRICE]
    if side == BUY:
        opp = 1
        best_f = SC_BEST_ASK
        count_f = SC_N_ASK_ORDERS
    else:
        opp = 0
        best_f = SC_BEST_BID
        count_f = SC_N_BID_ORDERS
    while qty > 0:
        best = sc[best_f]
        if best == 0:
            break
        if limit_price != 0 and (
            (side == BUY and best > limit_price) or (side == SELL and best < limit_price)
        ):
            break
        lvl = best - minp
        s = levels[opp, lvl, L_HEAD]
        while qty > 0 and s != -1:
            maker_qty = orders[s, O_QTY]
            fill = qty if qty < maker_qty else maker_qty
            n = sc[SC_N_TRADES]
            trades[n, T_TIME] = time
            trades[n, T_TAKER_OID] = oid
            trades[n, T_MAKER_OID] = orders[s, O_OID]
            trades[n, T_TAKER_OWNER] = owner
            trades[n, T_MAKER_OWNER] = orders[s, O_OWNER]
            trades[n, T_PRICE] = best
            trades[n, T_QTY] = fill
            trades[n, T_SIDE] = side
            sc[SC_N_TRADES] = n + 1
            qty -= fill
            maker_qty -= fill
            levels[opp, lvl, L_QTY] -= fill
            sc[SC_FILLED] += 2 * fill
            sc[SC_RESTING_QTY] -= fill
            if maker_qty == 0:
                nxt = orders[s, O_NEXT]
                levels[opp, lvl, L_HEAD] = nxt
                if nxt == -1:
                    levels[opp, lvl, L_TAIL] = -1
                else:
                    orders[nxt, O_PREV] = -1
                levels[opp, lvl, L_COUNT] -= 1
                sc[count_f] -= 1
                _hash_del(htab, orders[s, O_OID])
                sc[SC_HASH_COUNT] -= 1
                _free(orders, sc, s)
                s = nxt
            else:
                orders[s, O_QTY] = maker_qty
        sc[SC_LAST] = best
        if levels[opp, lvl, L_COUNT] == 0:
            _refresh_best(levels, sc, opp)
    return qty


@njit(cache=True, inline="always")
def _execute(orders, levels, htab, sc, trades, time, kind, side, price, qty, oid, owner, slot):
    """Run a taker order (LIMIT, MARKET or IOC kind) to completion.

    ``slot`` is the order's table slot if it already has one (a triggered stop), else -1.
    A LIMIT remainder rests (a slot is taken if needed); other remainders are dropped.
    """
    limit_price = 0 if kind == MARKET else price
    rem = _take(orders, levels, htab, sc, trades, time, side, limit_price, qty, oid, owner)
    if rem > 0 and kind == LIMIT:
        if slot == -1:
            slot = _new_slot(orders, htab, sc, oid)
        _fill_slot(orders, slot, oid, side, price, rem, owner, time, LIMIT)
        _rest(orders, levels, sc, slot)
    else:
        sc[SC_DROPPED] += rem
        if slot != -1:
            _hash_del(htab, oid)
            sc[SC_HASH_COUNT] -= 1
            _free(orders, sc, slot)


# ================================================================ stops
@njit(cache=True)
def _add_stop(orders, levels, htab, sc, time, kind, side, price, trigger, qty, oid, owner):
    s = _new_slot(orders, htab, sc, oid)
    _fill_slot(orders, s, oid, side, price, qty, owner, time, kind)
    orders[s, O_TRIGGER] = trigger
    orders[s, O_SEQ] = sc[SC_SEQ]
    orders[s, O_STATE] = STATE_STOP
    sc[SC_SEQ] += 1
    sc[SC_STOP_QTY] += qty
    si = 0 if side == BUY else 1
    _append(orders, levels, si, trigger - sc[SC_MIN_PRICE], s, L_STOP_HEAD, L_STOP_TAIL)
    if si == 0:
        sc[SC_N_BUY_STOPS] += 1
        if sc[SC_MIN_BUY_STOP] == 0 or trigger < sc[SC_MIN_BUY_STOP]:
            sc[SC_MIN_BUY_STOP] = trigger
    else:
        sc[SC_N_SELL_STOPS] += 1
        if trigger > sc[SC_MAX_SELL_STOP]:
            sc[SC_MAX_SELL_STOP] = trigger


@njit(cache=True)
def _remove_stop(orders, levels, sc, s):
    """Unlink the pending stop in slot ``s`` from its trigger level (the slot is not freed)."""
    si = 0 if orders[s, O_SIDE] == BUY else 1
    trigger = orders[s, O_TRIGGER]
    minp = sc[SC_MIN_PRICE]
    lvl = trigger - minp
    _unlink(orders, levels, si, lvl, s, L_STOP_HEAD, L_STOP_TAIL)
    sc[SC_STOP_QTY] -= orders[s, O_QTY]
    if si == 0:
        sc[SC_N_BUY_STOPS] -= 1
        if sc[SC_N_BUY_STOPS] == 0:
            sc[SC_MIN_BUY_STOP] = 0
        elif trigger == sc[SC_MIN_BUY_STOP]:
            while levels[0, lvl, L_STOP_HEAD] == -1:
                lvl += 1
            sc[SC_MIN_BUY_STOP] = lvl + minp
    else:
        sc[SC_N_SELL_STOPS] -= 1
        if sc[SC_N_SELL_STOPS] == 0:
            sc[SC_MAX_SELL_STOP] = 0
        elif trigger == sc[SC_MAX_SELL_STOP]:
            while levels[1, lvl, L_STOP_HEAD] == -1:
                lvl -= 1
            sc[SC_MAX_SELL_STOP] = lvl + minp


@njit(cache=True)
def _collect_triggered(orders, levels, sc):
    """Remove every stop that triggers at the last trade price; return their slots in arrival order."""
    last = sc[SC_LAST]
    minp = sc[SC_MIN_PRICE]
    n_buy = 0
    if sc[SC_N_BUY_STOPS] > 0 and sc[SC_MIN_BUY_STOP] <= last:
        n_buy = sc[SC_N_BUY_STOPS]
    n_sell = 0
    if sc[SC_N_SELL_STOPS] > 0 and sc[SC_MAX_SELL_STOP] >= last:
        n_sell = sc[SC_N_SELL_STOPS]
    out = np.empty(n_buy + n_sell, dtype=np.int64)
    n = 0
    if n_buy > 0:
        for p in range(sc[SC_MIN_BUY_STOP], last + 1):
            s = levels[0, p - minp, L_STOP_HEAD]
            while s != -1:
                out[n] = s
                n += 1
                s = orders[s, O_NEXT]
    if n_sell > 0:
        for p in range(last, sc[SC_MAX_SELL_STOP] + 1):
            s = levels[1, p - minp, L_STOP_HEAD]
            while s != -1:
                out[n] = s
                n += 1
                s = orders[s, O_NEXT]
    out = out[:n]
    if n > 1:
        seq = np.empty(n, dtype=np.int64)
        for i in range(n):
            seq[i] = orders[out[i], O_SEQ]
        out = out[np.argsort(seq)]
    for i in range(n):
        _remove_stop(orders, levels, sc, out[i])
    return out


@njit(cache=True, inline="always")
def _any_stop_triggers(sc):
    """True if a pending stop triggers at the last trade price."""
    last = sc[SC_LAST]
    if last == 0:
        return False
    if sc[SC_N_BUY_STOPS] > 0:
        if sc[SC_MIN_BUY_STOP] <= last:
            return True
    if sc[SC_N_SELL_STOPS] > 0:
        if sc[SC_MAX_SELL_STOP] >= last:
            return True
    return False


@njit(cache=True)
def _release_stops(orders, levels, htab, sc, trades, time):
    """Fire triggered stops in arrival order, batch after batch, until none triggers."""
    while _any_stop_triggers(sc):
        batch = _collect_triggered(orders, levels, sc)
        for i in range(batch.shape[0]):
            s = batch[i]
            kind = MARKET if orders[s, O_KIND] == STOP else LIMIT
            _execute(
                orders,
                levels,
                htab,
                sc,
                trades,
                time,
                kind,
                orders[s, O_SIDE],
                orders[s, O_PRICE],
                orders[s, O_QTY],
                orders[s, O_OID],
                orders[s, O_OWNER],
                s,
            )


# ================================================================ one message
@njit(cache=True, inline="always")
def _validate(htab, sc, orders, kind, side, price, trigger, qty, oid):
    """Reject code for a message (``ACCEPTED`` if valid). Time is checked by the caller."""
    if kind < 0 or kind > 6:
        return REJECT_BAD_KIND
    if oid < 0:
        return REJECT_BAD_OID
    if kind == CANCEL:
        if hash_get(htab, oid) == -1:
            return REJECT_UNKNOWN_OID
        return ACCEPTED
    if kind == MODIFY:
        if qty < 0:
            return REJECT_BAD_QTY
        if qty > MAX_QTY:
            return REJECT_QTY_RANGE
        s = hash_get(htab, oid)
        if s == -1:
            return REJECT_UNKNOWN_OID
        if orders[s, O_STATE] != STATE_RESTING:
            return REJECT_NOT_RESTING
        return ACCEPTED
    if side != BUY and side != SELL:
        return REJECT_BAD_SIDE
    if qty <= 0:
        return REJECT_BAD_QTY
    if qty > MAX_QTY:
        return REJECT_QTY_RANGE
    if kind == LIMIT or kind == IOC or kind == STOP_LIMIT:
        if price <= 0:
            return REJECT_NO_PRICE
        if price < sc[SC_MIN_PRICE] or price > sc[SC_MAX_PRICE]:
            return REJECT_PRICE_BAND
    if kind == STOP or kind == STOP_LIMIT:
        if trigger <= 0:
            return REJECT_NO_TRIGGER
        if trigger < sc[SC_MIN_PRICE] or trigger > sc[SC_MAX_PRICE]:
            return REJECT_TRIGGER_BAND
    if hash_get(htab, oid) != -1:
        return REJECT_DUPLICATE_OID
    return ACCEPTED


NEED_CAPACITY = -1  #: ``apply_message`` result: grow the buffers (``grow_for``) and send again


@njit(cache=True, inline="always")
def _max_new_trades(sc, n_msgs, max_qty):
    """Upper bound on the trades ``n_msgs`` messages of at most ``max_qty`` contracts can print.

    Each trade either fills a maker completely (a maker rests now, is added by one of the messages,
    or is a stop turned limit) or is a taker's last, partial fill; it also fills >= 1 contract of a
    taker (the messages themselves, or pending stops firing once each).

    The sum cannot overflow: a message above ``MAX_QTY`` is rejected (it prints nothing), so the
    quantity term is clipped to ``MAX_QTY`` and every term is saturated at ``by_makers`` (a count of
    orders, far below 2^62) before adding. The result is the same as the unsaturated formula.
    """
    n_stops = sc[SC_N_BUY_STOPS] + sc[SC_N_SELL_STOPS]
    by_makers = sc[SC_N_BID_ORDERS] + sc[SC_N_ASK_ORDERS] + 2 * n_msgs + 2 * n_stops
    q = min(max(max_qty, 0), MAX_QTY)
    if n_msgs > 0 and q > by_makers // n_msgs:
        by_qty = by_makers
    else:
        by_qty = n_msgs * q
    by_qty += min(max(sc[SC_STOP_QTY], 0), by_makers)
    return min(by_qty, by_makers)


@njit(cache=True, inline="always")
def has_room(orders, htab, sc, trades, rejects, n_msgs, max_qty):
    """True if ``n_msgs`` more messages of at most ``max_qty`` contracts each fit in every buffer."""
    used = sc[SC_N_BID_ORDERS] + sc[SC_N_ASK_ORDERS] + sc[SC_N_BUY_STOPS] + sc[SC_N_SELL_STOPS]
    # bitwise & on purpose: numba compiles a chain of ``and`` here about 10x slower
    return (
        (used + n_msgs <= orders.shape[0])
        & (2 * (sc[SC_HASH_COUNT] + n_msgs) <= htab.shape[0])
        & (sc[SC_N_REJECTS] + n_msgs <= rejects.shape[0])
        & (sc[SC_N_TRADES] + _max_new_trades(sc, n_msgs, max_qty) <= trades.shape[0])
    )


@njit(cache=True, inline="always")
def _trade_qty_bound(kind, qty):
    # CANCEL and MODIFY neither cross nor move the last price, so no stop can fire either
    if kind == CANCEL:
        return 0
    if kind == MODIFY:
        return 0
    return qty


@njit(cache=True, inline="always")
def has_capacity(orders, htab, sc, trades, rejects, kind, qty):
    """True if one more message of this kind and size fits in every buffer."""
    return has_room(orders, htab, sc, trades, rejects, 1, _trade_qty_bound(kind, qty))


def grow_room(orders, htab, sc, trades, rejects, n_msgs, max_qty):
    """Grow the buffers lacking room for ``n_msgs`` messages; return ``(orders, htab, trades, rejects)``.

    Plain Python, called between compiled calls: numpy allocates the new arrays. Its zeroed memory
    costs nothing until a page is written, and large arrays get transparent huge pages; the same
    growth in compiled code zeroed every new page up front (about half of ``replay``'s time on a
    stream of many trades). Only the rows in use are copied.
    """
    used = sc[SC_N_BID_ORDERS] + sc[SC_N_ASK_ORDERS] + sc[SC_N_BUY_STOPS] + sc[SC_N_SELL_STOPS]
    while used + n_msgs > orders.shape[0]:
        orders = _grow_orders(orders, sc)
    while 2 * (sc[SC_HASH_COUNT] + n_msgs) > htab.shape[0]:
        htab = _grow_hash(htab)
    rows = rejects.shape[0]
    while sc[SC_N_REJECTS] + n_msgs > rows:
        rows *= 2
    if rows > rejects.shape[0]:
        rejects = _with_rows(rejects, rows, sc[SC_N_REJECTS])
    need = sc[SC_N_TRADES] + _max_new_trades(sc, n_msgs, max_qty)
    if need > trades.shape[0]:
        trades = _with_rows(trades, max(need, 2 * trades.shape[0]), sc[SC_N_TRADES])
    return orders, htab, trades, rejects


def grow_for(orders, htab, sc, trades, rejects, kind, qty):
    """Grow whichever buffers are too small for one message; return ``(orders, htab, trades, rejects)``."""
    return grow_room(orders, htab, sc, trades, rejects, 1, 0 if kind in (CANCEL, MODIFY) else qty)


@njit(cache=True, inline="always")
def _apply(orders, levels, htab, sc, trades, rejects, time, kind, side, price, trigger, qty, oid, owner):
    """Process one message in buffers known to have room; return the reject code (0 = accepted)."""
    index = sc[SC_N_MESSAGES]
    sc[SC_N_MESSAGES] = index + 1
    if time < sc[SC_CLOCK]:
        reason = REJECT_TIME_ORDER
    else:
        sc[SC_CLOCK] = time
        reason = _validate(htab, sc, orders, kind, side, price, trigger, qty, oid)
    if reason != ACCEPTED:
        r = sc[SC_N_REJECTS]
        rejects[r, R_TIME] = time
        rejects[r, R_OID] = oid
        rejects[r, R_INDEX] = index
        rejects[r, R_REASON] = reason
        sc[SC_N_REJECTS] = r + 1
        return reason

    if kind == LIMIT or kind == MARKET or kind == IOC:
        sc[SC_SUBMITTED] += qty
        _execute(orders, levels, htab, sc, trades, time, kind, side, price, qty, oid, owner, -1)
    elif kind == STOP or kind == STOP_LIMIT:
        sc[SC_SUBMITTED] += qty
        _add_stop(orders, levels, htab, sc, time, kind, side, price, trigger, qty, oid, owner)
    elif kind == CANCEL:
        s = hash_get(htab, oid)
        sc[SC_CANCELLED] += orders[s, O_QTY]
        if orders[s, O_STATE] == STATE_RESTING:
            _unrest(orders, levels, sc, s)
        else:
            _remove_stop(orders, levels, sc, s)
        _hash_del(htab, oid)
        sc[SC_HASH_COUNT] -= 1
        _free(orders, sc, s)
    else:  # MODIFY of a resting order
        s = hash_get(htab, oid)
        old = orders[s, O_QTY]
        if qty == 0:
            sc[SC_CANCELLED] += old
            _unrest(orders, levels, sc, s)
            _hash_del(htab, oid)
            sc[SC_HASH_COUNT] -= 1
            _free(orders, sc, s)
        elif qty < old:
            si = 0 if orders[s, O_SIDE] == BUY else 1
            levels[si, orders[s, O_PRICE] - sc[SC_MIN_PRICE], L_QTY] -= old - qty
            orders[s, O_QTY] = qty
            sc[SC_RESTING_QTY] -= old - qty
            sc[SC_CANCELLED] += old - qty
        elif qty > old:
            _unrest(orders, levels, sc, s)
            orders[s, O_QTY] = qty
            orders[s, O_TIME] = time
            sc[SC_SUBMITTED] += qty - old
            _rest(orders, levels, sc, s)
    if _any_stop_triggers(sc):
        _release_stops(orders, levels, htab, sc, trades, time)
    return ACCEPTED


@njit(cache=True)
def apply_in_room(
    orders, levels, htab, sc, trades, rejects, time, kind, side, price, trigger, qty, oid, owner
):
    """``_apply`` compiled once, as a function of its own: one message into buffers known to have room.

    Shared by ``apply_message`` and the background flow (``market._flow_kernels``), so the book's
    step is compiled once for both instead of once inlined in each (call it with int64 scalars, not
    literals, or numba compiles one copy per constant). Borrowed arrays are expected.
    """
    return _apply(
        orders, levels, htab, sc, trades, rejects, time, kind, side, price, trigger, qty, oid, owner
    )


@njit(cache=True)
def apply_message(
    orders, levels, htab, sc, trades, rejects, time, kind, side, price, trigger, qty, oid, owner
):
    """Process one message; return its reject code (0 = accepted) or ``NEED_CAPACITY``.

    On ``NEED_CAPACITY`` nothing happened: grow with ``grow_for`` and send the message again.
    """
    if not has_capacity(orders, htab, sc, trades, rejects, kind, qty):
        return NEED_CAPACITY
    return apply_in_room(
        borrow(orders),
        borrow(levels),
        borrow(htab),
        borrow(sc),
        borrow(trades),
        borrow(rejects),
        time,
        kind,
        side,
        price,
        trigger,
        qty,
        oid,
        owner,
    )


@njit(cache=True)
def _apply_until_full(orders, levels, htab, sc, trades, rejects, msgs, start):
    """Process ``msgs[start:]`` until one does not fit the buffers; return its index (or len)."""
    for i in range(start, msgs.shape[0]):
        m = msgs[i]
        kind = np.int64(m.kind)
        if not has_capacity(orders, htab, sc, trades, rejects, kind, m.qty):
            return i
        _apply(
            orders,
            levels,
            htab,
            sc,
            trades,
            rejects,
            m.time,
            kind,
            np.int64(m.side),
            m.price,
            m.trigger,
            m.qty,
            m.oid,
            np.int64(m.owner),
        )
    return msgs.shape[0]


@njit(cache=True)
def apply_until_full(orders, levels, htab, sc, trades, rejects, msgs, start):
    """Process ``msgs[start:]`` (``MESSAGE_DTYPE``) until one does not fit; return its index (or len).

    The caller grows the buffers (``grow_for`` for that message) and calls again from there.
    """
    # borrowed views: the hot loop then does no reference counting (see market._borrow)
    return _apply_until_full(
        borrow(orders),
        borrow(levels),
        borrow(htab),
        borrow(sc),
        borrow(trades),
        borrow(rejects),
        borrow(msgs),
        start,
    )


# ================================================================ read-only queries
@njit(cache=True)
def depth(levels, sc, n):
    """Best ``n`` non-empty levels per side: ``(bids, asks)`` arrays of ``[price, qty]`` rows."""
    minp = sc[SC_MIN_PRICE]
    bids = np.empty((n, 2), dtype=np.int64)
    asks = np.empty((n, 2), dtype=np.int64)
    # the scans stop once every resting order of the side was seen: a side with fewer than n levels
    # would otherwise walk the whole price band (~13,000 empty levels, ~16 us a call)
    nb = 0
    if sc[SC_BEST_BID] != 0:
        lvl = sc[SC_BEST_BID] - minp
        left = sc[SC_N_BID_ORDERS]
        while nb < n and lvl >= 0 and left > 0:
            c = levels[0, lvl, L_COUNT]
            if c > 0:
                bids[nb, 0] = lvl + minp
                bids[nb, 1] = levels[0, lvl, L_QTY]
                nb += 1
                left -= c
            lvl -= 1
    na = 0
    if sc[SC_BEST_ASK] != 0:
        lvl = sc[SC_BEST_ASK] - minp
        top = levels.shape[1]
        left = sc[SC_N_ASK_ORDERS]
        while na < n and lvl < top and left > 0:
            c = levels[1, lvl, L_COUNT]
            if c > 0:
                asks[na, 0] = lvl + minp
                asks[na, 1] = levels[1, lvl, L_QTY]
                na += 1
                left -= c
            lvl += 1
    return bids[:nb], asks[:na]


@njit(cache=True)
def level_slots(orders, levels, sc, si, price):
    """Slots resting at ``price`` on side index ``si``, front of the queue first."""
    lvl = price - sc[SC_MIN_PRICE]
    out = np.empty(levels[si, lvl, L_COUNT], dtype=np.int64)
    s = levels[si, lvl, L_HEAD]
    n = 0
    while s != -1:
        out[n] = s
        n += 1
        s = orders[s, O_NEXT]
    return out


@njit(cache=True)
def queue_ahead(orders, s):
    """``(qty, orders)`` resting ahead of slot ``s`` in its level."""
    qty = 0
    count = 0
    p = orders[s, O_PREV]
    while p != -1:
        qty += orders[p, O_QTY]
        count += 1
        p = orders[p, O_PREV]
    return qty, count


@njit(cache=True)
def trade_records(trades, out):
    """Fill ``out`` (``TRADE_DTYPE``, one record per row) from kernel trade rows ``int64[n, T_*]``.

    One pass in compiled code instead of a strided numpy cast per field (2-3 ns instead of about
    40 ns a trade). Owners and side are narrowed as ``astype`` does (two's-complement truncation).
    """
    for i in range(trades.shape[0]):
        r = out[i]
        r.time = trades[i, T_TIME]
        r.taker_oid = trades[i, T_TAKER_OID]
        r.maker_oid = trades[i, T_MAKER_OID]
        r.taker_owner = np.int32(trades[i, T_TAKER_OWNER])
        r.maker_owner = np.int32(trades[i, T_MAKER_OWNER])
        r.price = trades[i, T_PRICE]
        r.qty = trades[i, T_QTY]
        r.side = np.int8(trades[i, T_SIDE])


@njit(cache=True)
def reject_records(rejects, out):
    """Fill ``out`` (``REJECT_DTYPE``) from kernel reject rows ``int64[n, R_*]`` (see ``trade_records``)."""
    for i in range(rejects.shape[0]):
        r = out[i]
        r.time = rejects[i, R_TIME]
        r.oid = rejects[i, R_OID]
        r.index = rejects[i, R_INDEX]
        r.reason = np.int8(rejects[i, R_REASON])
