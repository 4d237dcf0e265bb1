"""The venue and the instruments: numba order book, exchange, background flow, options."""
