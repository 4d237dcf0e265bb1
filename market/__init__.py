"""The venue and the instruments: numba order book, exchange, background flow, options."""

from market import _numba_blas_probe
from market._numba_cache import use_versioned_cache

use_versioned_cache()  # before any kernel module is imported: see market/_numba_cache.py
_numba_blas_probe.install()  # numba's first compiled call without importing scipy.linalg
