"""Order-book throughput: compiled ``replay`` vs per-call ``OrderBook`` vs the pure-Python reference.

Prints messages/s for each path, the ratios, the cold-start time of a fresh process with a warm numba
cache, and the memory held by 1,000,000 resting orders. Run: ``make bench`` (or
``python benchmarks/bench_lob.py [--messages N]``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from market import types as T  # noqa: E402
from market.lob import OrderBook, replay  # noqa: E402


def _message_oids(rng: np.random.Generator, kind: np.ndarray) -> np.ndarray:
    """Order ids: message i gets oid i; cancels and modifies point at one of the ~2,000 previous oids."""
    n = kind.shape[0]
    oid = np.arange(n, dtype=np.int64)
    is_ref = (kind == T.CANCEL) | (kind == T.MODIFY)
    back = rng.integers(1, 2_000, size=n)
    oid[is_ref] = np.maximum(np.arange(n)[is_ref] - back[is_ref], 0)
    return oid


def realistic_stream(n: int, seed: int = 7, mid_ticks: int = 26_568) -> np.ndarray:
    """About 60% limits near the touch, 25% cancels, 10% market, 3% modifies, 2% stops.

    The mid follows a slow random walk; cancels and modifies target recent limit orders (some of
    which have filled meanwhile and are rejected as unknown, as on a real venue).
    """
    rng = np.random.default_rng(seed)
    msgs = T.make_messages(n)
    u = rng.random(n)
    kind = np.select(
        [u < 0.60, u < 0.85, u < 0.95, u < 0.98], [T.LIMIT, T.CANCEL, T.MARKET, T.MODIFY], T.STOP
    )
    side = np.where(rng.random(n) < 0.5, T.BUY, T.SELL)
    mid = mid_ticks + np.cumsum(rng.choice([-1, 0, 1], size=n, p=[0.002, 0.996, 0.002]))
    offset = rng.geometric(0.35, size=n) - 1  # 0, 1, 2, ... ticks behind the touch
    price = mid - side * offset
    trigger = mid + side * (2 + rng.geometric(0.2, size=n))
    qty = rng.geometric(0.3, size=n)
    oid = _message_oids(rng, kind)
    msgs["time"] = np.arange(n, dtype=np.int64) * 1_000
    msgs["kind"] = kind
    msgs["side"] = side
    msgs["price"] = np.where(kind == T.MARKET, 0, price)
    msgs["trigger"] = np.where(kind == T.STOP, trigger, 0)
    msgs["qty"] = np.where(kind == T.MODIFY, np.maximum(qty - 1, 0), qty)
    msgs["oid"] = oid
    msgs["owner"] = rng.integers(0, 100, size=n)
    return msgs


def hostile_stream(n: int, seed: int = 11, mid_ticks: int = 26_568) -> np.ndarray:
    """A harder stream: 10% stops and 10% market orders that sweep several price levels.

    Stops (half stop-market, half stop-limit) rest 1-8 ticks from the mid; market orders are sized
    to sweep a median of 3 levels (see ``sweep_levels``); 65% limits near the touch, 10% cancels,
    5% modifies.

    The sweeps move the last price, so stops fire in cascades, as on a falling day.
    """
    rng = np.random.default_rng(seed)
    msgs = T.make_messages(n)
    u = rng.random(n)
    kind = np.select(
        [u < 0.65, u < 0.75, u < 0.85, u < 0.90, u < 0.95],
        [T.LIMIT, T.CANCEL, T.MARKET, T.MODIFY, T.STOP],
        T.STOP_LIMIT,
    )
    side = np.where(rng.random(n) < 0.5, T.BUY, T.SELL)
    mid = mid_ticks + np.cumsum(rng.choice([-1, 0, 1], size=n, p=[0.002, 0.996, 0.002]))
    offset = rng.geometric(0.35, size=n) - 1
    price = mid - side * offset
    trigger = mid + side * rng.integers(1, 9, size=n)
    qty = rng.geometric(0.3, size=n)
    sweep_qty = 15 + rng.geometric(0.1, size=n)  # about 3 levels of this stream's depth near the touch
    oid = _message_oids(rng, kind)
    msgs["time"] = np.arange(n, dtype=np.int64) * 1_000
    msgs["kind"] = kind
    msgs["side"] = side
    is_stop = (kind == T.STOP) | (kind == T.STOP_LIMIT)
    msgs["price"] = np.select(
        [kind == T.MARKET, kind == T.STOP, kind == T.STOP_LIMIT], [0, 0, trigger + side * 2], price
    )
    msgs["trigger"] = np.where(is_stop, trigger, 0)
    msgs["qty"] = np.select([kind == T.MODIFY, kind == T.MARKET], [np.maximum(qty - 1, 0), sweep_qty], qty)
    msgs["oid"] = oid
    msgs["owner"] = rng.integers(0, 100, size=n)
    return msgs


def sweep_levels(msgs: np.ndarray, trades: np.ndarray) -> float:
    """Median number of price levels a market order of ``msgs`` traded at (orders that traded)."""
    market_oids = msgs["oid"][msgs["kind"] == T.MARKET]
    tr = trades[np.isin(trades["taker_oid"], market_oids)]
    if len(tr) == 0:
        return 0.0
    pairs = np.unique(np.stack([tr["taker_oid"], tr["price"]], axis=1), axis=0)
    _, counts = np.unique(pairs[:, 0], return_counts=True)
    return float(np.median(counts))


def time_replay(msgs: np.ndarray, repeats: int = 3) -> tuple[float, float, object]:
    """Best wall time and best CPU time (s) of ``replay(msgs)``, and the last result."""
    best, best_cpu, result = np.inf, np.inf, None
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        result = replay(msgs)
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    return best, best_cpu, result


def time_per_call(msgs: np.ndarray) -> tuple[float, OrderBook]:
    book = OrderBook(capacity=max(1024, len(msgs) // 4))
    submit = book.submit
    rows = msgs.tolist()
    t0 = time.perf_counter()
    for t, k, s, p, tr, q, o, ow in rows:
        submit(t, k, s, p, tr, q, o, ow)
    return time.perf_counter() - t0, book


def time_reference(msgs: np.ndarray) -> float | None:
    try:
        sys.path.insert(0, str(ROOT / "tests" / "market"))
        from reference_book import ReferenceBook  # type: ignore[import-not-found]
    except ImportError:
        return None
    book = ReferenceBook()
    t0 = time.perf_counter()
    book.process(msgs)
    return time.perf_counter() - t0


def cold_start() -> tuple[float, float]:
    """Wall time of a fresh interpreter that imports the book and processes one message (warm cache)."""
    code = (
        "import time; t0 = time.perf_counter()\n"
        "from market.lob import OrderBook\n"
        "b = OrderBook(); b.limit(1, 100, 1, 1); b.market(-1, 1, 2)\n"
        "print(time.perf_counter() - t0)"
    )
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return time.perf_counter() - t0, float(out.stdout.strip())


def resting_memory(n: int = 1_000_000) -> tuple[float, float]:
    """Book-array MB held by ``n`` resting orders, and the peak RSS (MB) of a fresh process holding them.

    The peak is the child's own ``VmHWM`` (Linux): its ``ru_maxrss`` would also count this parent's
    resident memory at the moment of the fork (the kernel folds the old address space's peak into it
    at ``exec``), which made this figure 661-852 MB depending on what the benchmark held by then.
    """
    code = (
        "import resource, numpy as np\n"
        "from market import types as T\n"
        "from market.lob import OrderBook\n"
        f"n = {n}\n"
        "m = T.make_messages(n); i = np.arange(n)\n"
        "m['kind'] = T.LIMIT; m['side'] = np.where(i % 2 == 0, T.BUY, T.SELL)\n"
        "m['price'] = np.where(m['side'] == T.BUY, 20_000 - i % 500, 20_001 + i % 500)\n"
        "m['qty'] = 1; m['oid'] = i\n"
        "b = OrderBook(capacity=1024); b.process(m); assert b.n_resting == n\n"
        "del m\n"
        "try:\n"
        "    peak = int(open('/proc/self/status').read().split('VmHWM:')[1].split()[0]) / 1024\n"
        "except (OSError, IndexError):\n"
        "    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
        "print(b.nbytes / 1e6, peak)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    arrays_mb, rss_mb = (float(x) for x in out.stdout.split())
    return arrays_mb, rss_mb


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--reference-slice", type=int, default=50_000)
    args = ap.parse_args()

    msgs = realistic_stream(args.messages)
    replay(msgs[:1000])  # compile (or load the cache) outside the timings
    OrderBook().submit(0, T.LIMIT, 1, 100, 0, 1, 1, 0)

    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores "
          "(CPU-time rates are the ones to compare on a shared machine)")  # fmt: skip
    t_replay, cpu_replay, res = time_replay(msgs)
    rate_replay = len(msgs) / t_replay
    print(
        f"stream: {len(msgs):,} messages, {len(res.trades):,} trades, {len(res.rejects):,} rejects, "
        f"{res.book.n_resting:,} resting at the end"
    )
    print(
        f"replay (compiled):              {rate_replay / 1e6:8.2f} M msg/s   ({t_replay:.3f} s; "
        f"{len(msgs) / cpu_replay / 1e6:.2f} M msg/s of CPU time)   target >= 10 M/s"
    )
    hostile = hostile_stream(args.messages)
    t_hostile, cpu_hostile, res_h = time_replay(hostile)
    print(
        f"hostile stream (10% stops, market orders sweeping a median "
        f"{sweep_levels(hostile, res_h.trades):.0f} levels): {len(res_h.trades):,} trades, "
        f"{len(res_h.rejects):,} rejects"
    )
    print(
        f"replay, hostile stream:         {len(hostile) / t_hostile / 1e6:8.2f} M msg/s   "
        f"({t_hostile:.3f} s; "
        f"{len(hostile) / cpu_hostile / 1e6:.2f} M msg/s of CPU time)   target >= 6 M/s"
    )

    t_call, book = time_per_call(msgs)
    rate_call = len(msgs) / t_call
    same = np.array_equal(book.trades, res.trades) and np.array_equal(book.rejects, res.rejects)
    print(
        f"OrderBook, one call per message: {rate_call / 1e3:8.1f} k msg/s   ({t_call:.3f} s)   "
        f"target >= 500 k/s   identical to replay: {same}"
    )

    sl = msgs[: args.reference_slice]
    t_ref = time_reference(sl)
    if t_ref is None:
        print("pure-Python reference: tests/market/reference_book.py not found")
    else:
        rate_ref = len(sl) / t_ref
        print(f"pure-Python reference ({len(sl):,}-message slice): {rate_ref / 1e3:8.1f} k msg/s")
        print(
            f"ratios: replay / reference = {rate_replay / rate_ref:,.0f}x, "
            f"per-call / reference = {rate_call / rate_ref:,.1f}x"
        )
    print(f"ratio replay / per-call = {rate_replay / rate_call:,.1f}x")

    wall, inside = cold_start()
    print(
        f"cold start, fresh process, warm cache: {wall:.2f} s wall "
        f"(import + first message {inside:.2f} s)   target < 2 s"
    )

    mb_arrays, mb_rss = resting_memory()
    print(
        f"1,000,000 resting orders: {mb_arrays:.0f} MB of book arrays, "
        f"peak RSS of that process {mb_rss:.0f} MB (interpreter, numba and the 46 MB message array "
        "included)   target < 200 MB"
    )


if __name__ == "__main__":
    main()
