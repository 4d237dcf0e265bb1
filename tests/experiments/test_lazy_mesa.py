"""Mesa imported through experiments._lazy_mesa: the light path, the same loggers, inspect restored."""

from __future__ import annotations

import json
import subprocess
import sys

REPORT = """
import inspect, json, logging, sys
names = lambda: sorted(n for n in logging.Logger.manager.loggerDict if n.startswith("MESA"))
model_cls = mesa.Model
import mesa.model as mm
init = mm.Model.__init__
classname = [c.cell_contents for c in init.__closure__ if isinstance(c.cell_contents, str)]
print(json.dumps({
    "loggers": names(),
    "model_logger": mm._mesa_logger.name,
    "classname": classname,
    "space_loaded": "mesa.space" in sys.modules,
    "inspect_restored": [f.__module__ for f in (inspect.stack, inspect.getouterframes, inspect.getmodule)],
}))
"""


def _child(prelude: str) -> dict:
    code = prelude + "\n" + REPORT
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_deferred_mesa_names_the_same_loggers_as_plain_mesa():
    lazy = _child("import experiments, mesa")
    plain = _child("import mesa")
    assert lazy["space_loaded"] is False  # the package __init__ did not run
    assert plain["space_loaded"] is True
    for key in ("loggers", "model_logger", "classname"):
        assert lazy[key] == plain[key], key
    assert lazy["model_logger"] == "MESA.mesa.model"
    assert lazy["classname"] == ["Model"]
    assert lazy["inspect_restored"] == ["inspect", "inspect", "inspect"]


def test_full_mesa_init_still_runs_on_demand():
    got = _child("import experiments, mesa\nmesa.space")
    assert got["space_loaded"] is True
    assert got["inspect_restored"] == ["inspect", "inspect", "inspect"]
