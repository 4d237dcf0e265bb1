"""Record layouts (numpy dtypes) and flag constants shared by the order book and the exchange.

Units: prices and triggers are integer **ticks** (E-mini S&P proxy: 1 tick = 0.25 index points,
$12.50 per contract), quantities are integer **contracts**, times are int64 **nanoseconds** from the
open (09:30 ET = 0).
"""

from __future__ import annotations

import numpy as np

# ---- message kinds (contract values) ---------------------------------------------------------
LIMIT = 0  #: good-till-cancel limit order; the remainder rests
MARKET = 1  #: market order; the remainder is dropped
CANCEL = 2  #: cancel a resting order or an untriggered stop (by ``oid``)
MODIFY = 3  #: set a resting order's remaining quantity to ``qty`` (0 cancels)
IOC = 4  #: immediate-or-cancel limit order; the remainder is dropped
STOP = 5  #: stop-market: becomes a MARKET order when the last trade reaches ``trigger``
STOP_LIMIT = 6  #: stop-limit: becomes a LIMIT order at ``price`` when ``trigger`` is reached

KIND_NAMES = ("LIMIT", "MARKET", "CANCEL", "MODIFY", "IOC", "STOP", "STOP_LIMIT")

# ---- sides -----------------------------------------------------------------------------------
BUY = 1
SELL = -1

#: Price value meaning "no price" (a missing limit price or trigger, an empty side of the book).
NO_PRICE = 0

# ---- hard bounds (checked by the book; they keep every sum of quantities far from int64 overflow)
#: Largest quantity of one order (contracts): 2^31 - 1.
MAX_QTY = 2**31 - 1
#: Highest price or trigger a book's band may reach (ticks): 2^31 - 1.
MAX_PRICE_TICKS = 2**31 - 1
#: Widest price band of one book (levels): 2^22 levels = 384 MiB of level arrays.
MAX_BAND_LEVELS = 2**22

# ---- reject reasons (0 means accepted) ---------------------------------------------------------
ACCEPTED = 0
REJECT_BAD_KIND = 1  #: ``kind`` is not one of the seven kinds above
REJECT_BAD_SIDE = 2  #: ``side`` is not +1 or -1 (new orders only)
REJECT_BAD_QTY = 3  #: ``qty <= 0`` for a new order, ``qty < 0`` for MODIFY
REJECT_NO_PRICE = 4  #: LIMIT, IOC or STOP_LIMIT without a price (``price <= 0``)
REJECT_PRICE_BAND = 5  #: limit price outside the book's band
REJECT_NO_TRIGGER = 6  #: STOP or STOP_LIMIT without a trigger (``trigger <= 0``)
REJECT_TRIGGER_BAND = 7  #: trigger outside the book's band
REJECT_BAD_OID = 8  #: ``oid < 0``
REJECT_DUPLICATE_OID = 9  #: a new order reuses the oid of a live (resting or pending stop) order
REJECT_UNKNOWN_OID = 10  #: CANCEL or MODIFY of an oid that is not live
REJECT_NOT_RESTING = 11  #: MODIFY of an untriggered stop (only resting orders can be modified)
REJECT_TIME_ORDER = 12  #: message time earlier than the previous message's time
REJECT_QTY_RANGE = 13  #: ``qty`` above :data:`MAX_QTY` (new orders and MODIFY)

REJECT_NAMES = {
    ACCEPTED: "accepted",
    REJECT_BAD_KIND: "unknown message kind",
    REJECT_BAD_SIDE: "side must be +1 (buy) or -1 (sell)",
    REJECT_BAD_QTY: "quantity must be positive (MODIFY: non-negative)",
    REJECT_NO_PRICE: "limit price missing (price <= 0)",
    REJECT_PRICE_BAND: "limit price outside the book's price band",
    REJECT_NO_TRIGGER: "stop trigger missing (trigger <= 0)",
    REJECT_TRIGGER_BAND: "stop trigger outside the book's price band",
    REJECT_BAD_OID: "order id must be >= 0",
    REJECT_DUPLICATE_OID: "order id already in use by a live order",
    REJECT_UNKNOWN_OID: "no live order with this id",
    REJECT_NOT_RESTING: "MODIFY works only on resting orders, not on untriggered stops",
    REJECT_TIME_ORDER: "message time earlier than the previous message",
    REJECT_QTY_RANGE: "quantity above the maximum of 2^31-1 contracts",
}

# ---- record layouts (contract) -----------------------------------------------------------------
#: One order-book message. ``time`` ns; ``price``/``trigger`` ticks; ``qty`` contracts.
MESSAGE_DTYPE = np.dtype(
    [
        ("time", np.int64),
        ("kind", np.int8),
        ("side", np.int8),
        ("price", np.int64),
        ("trigger", np.int64),
        ("qty", np.int64),
        ("oid", np.int64),
        ("owner", np.int32),
    ]
)

#: One trade. ``price`` is the resting (maker) order's price in ticks; ``side`` is the aggressor's.
TRADE_DTYPE = np.dtype(
    [
        ("time", np.int64),
        ("taker_oid", np.int64),
        ("maker_oid", np.int64),
        ("taker_owner", np.int32),
        ("maker_owner", np.int32),
        ("price", np.int64),
        ("qty", np.int64),
        ("side", np.int8),
    ]
)

#: One rejected message: its time, oid, position in the processed stream and the reason code.
REJECT_DTYPE = np.dtype(
    [
        ("time", np.int64),
        ("oid", np.int64),
        ("index", np.int64),
        ("reason", np.int8),
    ]
)


def make_messages(n: int) -> np.ndarray:
    """Return a zeroed message array of length ``n`` (``MESSAGE_DTYPE``)."""
    return np.zeros(n, dtype=MESSAGE_DTYPE)
