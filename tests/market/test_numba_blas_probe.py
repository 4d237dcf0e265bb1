"""numba's BLAS flag found without importing scipy.linalg: the same value, numba left as it was."""

from __future__ import annotations

import json
import subprocess
import sys

from market._numba_blas_probe import scipy_blas_present

CHILD = """
import json, sys
import market
from market.black76.scalar import norm_cdf
norm_cdf(0.1)  # a compiled call: numba loads its registries (numba.np.arraymath) here
import numba.np.arraymath as am, numba.np.linalg as la
from market import _numba_blas_probe as probe
print(json.dumps({
    "scipy_linalg": "scipy.linalg" in sys.modules,
    "have_blas": am._HAVE_BLAS,
    "ensure_blas_restored": la.ensure_blas.__module__ == "numba.np.linalg",
    "hook_left": probe._FINDER in sys.meta_path,
}))
"""


def test_first_compiled_call_skips_scipy_linalg_and_keeps_the_blas_flag():
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, check=True)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got == {
        "scipy_linalg": False,
        "have_blas": scipy_blas_present(),
        "ensure_blas_restored": True,
        "hook_left": False,
    }


def test_blas_present_here():
    import scipy.linalg.cython_blas  # noqa: F401 - the project installs SciPy: the probe must see it

    assert scipy_blas_present()
