"""The interactive page (``experiments/viz/app.py``): helpers headless, then the real page in Chromium.

The browser test starts ``solara run experiments/viz/app.py`` on a free localhost port, drives the page
with the Python ``playwright`` package and the system Chromium (``/usr/bin/chromium``; no
``playwright install``), and saves a screenshot under the test's ``tmp_path``. It is skipped, with
the reason, where Chromium, playwright or the ``viz`` extra (solara, ``mesa[viz]``) is missing.
"""

from __future__ import annotations

import importlib.util
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import warnings
from pathlib import Path

import pytest

from experiments.config import load_scenario

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "experiments" / "viz" / "app.py"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
SERVER_START_TIMEOUT_S = 180.0  # a cold numba cache compiles the kernels on the first model build
PAGE_TIMEOUT_MS = 180_000
ERROR_WORDS = ("Traceback", "error in step", "error in visualization", "Exception", "Error:")


# ------------------------------------------------------------------------ helpers (no browser)


def test_positioning_overrides_scale_and_flip():
    from experiments.viz import knob_overrides, positioning_overrides

    cfg = load_scenario("nov20_2025")
    qty = [b.customer_qty for b in cfg.options.positions]
    flipped = load_scenario("nov20_2025", positioning_overrides(cfg, -1.0))
    assert [b.customer_qty for b in flipped.options.positions] == [-q for q in qty]
    doubled = load_scenario("nov20_2025", positioning_overrides(cfg, 2.0))
    assert [b.customer_qty for b in doubled.options.positions] == [2 * q for q in qty]
    assert knob_overrides(cfg) == []
    knobs = knob_overrides(cfg, dip_capital_usd=2e9, cta_capital_usd=1e9, dealer_scale=0.5)
    changed = load_scenario("nov20_2025", knobs)
    assert changed.dip_buyers.capital_usd == 2e9 and changed.cta.capital_usd == 1e9
    assert [b.customer_qty for b in changed.options.positions] == [round(q * 0.5) for q in qty]


def test_parse_and_format_usd_round_trip():
    from experiments.viz import format_usd, parse_usd

    assert parse_usd("3e8") == 3e8
    assert parse_usd("300m") == 3e8
    assert parse_usd("$1.5bn") == 1.5e9
    assert parse_usd("2,000,000") == 2e6
    assert parse_usd(5) == 5.0
    for value in (0.0, 2.5e5, 3e8, 1.5e9):
        assert parse_usd(format_usd(value)) == value
    for bad in ("abc", "-5m", "1e999", ""):
        with pytest.raises(ValueError):
            parse_usd(bad)


def test_viz_model_steps_and_draws_every_chart():
    from experiments.viz import (
        CascadeVizModel,
        cta_figure,
        dealer_figure,
        figure_bytes,
        flows_figure,
        iv_figure,
        price_figure,
    )

    model = CascadeVizModel("nov20_2025", seed=3, dip_capital_usd="1bn", dealer_scale=-1.0, step_s=10)
    assert model.config.dip_buyers.capital_usd == 1e9
    assert all(b.customer_qty < 0 for b in model.config.options.positions)  # dealers long the options
    for _ in range(9):
        model.step()
    assert model.now_s == pytest.approx(model.config.market.session_start_s + 90.0)
    ts = model.series()
    assert len(ts) == 4  # one row per 30 s sample, whatever the step
    assert ts["dealer_gamma"].iloc[-1] > 0  # flipped positioning: dealers long gamma
    assert len(model.step_wall_s) == 9 and model.levels.supports == (6650.0, 6550.0, 6500.0)
    assert "seed 3" in model.describe() and "$1bn" in model.describe()
    for draw in (
        price_figure(ts, model.levels, model.t_range, model.status()),
        dealer_figure(ts, model.t_range, model.levels),
        cta_figure(ts, model.t_range, model.levels),
        iv_figure(ts, model.t_range, model.levels),
        flows_figure(ts, model.t_range, model.levels),
    ):
        svg = figure_bytes(draw)
        assert svg.startswith(b"<?xml") and b"<svg" in svg
    empty = price_figure(ts.iloc[:0], model.levels, model.t_range)
    assert figure_bytes(empty, "png").startswith(b"\x89PNG")


def test_viz_model_rejects_bad_input():
    from experiments.viz import CascadeVizModel

    with pytest.raises(ValueError):
        CascadeVizModel("calm", seed=0, dip_capital_usd="lots")
    with pytest.raises(ValueError):
        CascadeVizModel("calm", seed=-1)


# ------------------------------------------------------------------------------- the real page


def _missing() -> str | None:
    if not os.path.exists(CHROMIUM):
        return f"{CHROMIUM} not found (apt-get install -y chromium)"
    for module, extra in (
        ("playwright", "playwright"),
        ("solara", "the viz extra"),
        ("networkx", "the viz extra"),
    ):
        if importlib.util.find_spec(module) is None:
            return f"python package {module!r} not installed ({extra})"
    try:
        with warnings.catch_warnings():  # solara lints Mesa's hooks on import (a UserWarning, harmless)
            warnings.simplefilter("ignore")
            import mesa.visualization  # noqa: F401
    except Exception as exc:  # noqa: BLE001 - any import problem means: no page to test
        return f"mesa.visualization does not import: {exc}"
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def viz_server(tmp_path):
    """The solara server on a free localhost port; yields (URL, log file); always terminated."""
    missing = _missing()
    if missing:
        pytest.skip(missing)
    port = _free_port()
    log_path = tmp_path / "solara.log"
    env = dict(os.environ, CASCADE_VIZ_SCENARIO="nov20_2025", SOLARA_TELEMETRY_MIXPANEL_ENABLE="False")
    env.setdefault("NUMBA_CACHE_DIR", str(ROOT / ".numba_cache"))
    cmd = [
        sys.executable,
        "-m",
        "solara",
        "run",
        str(APP),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--production",
        "--no-open",
        "--no-check-version",
    ]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"solara exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"solara did not answer on {url} in {SERVER_START_TIMEOUT_S:.0f} s:\n"
                    f"{log_path.read_text()[-3000:]}"
                )
            time.sleep(0.5)
        yield url, log_path
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


def _steps(page) -> int:
    match = re.search(r"Step: (\d+)", page.inner_text("body"))
    return int(match.group(1)) if match else -1


def _chart_sources(page) -> list[str]:
    return page.eval_on_selector_all("img.solara-image", "imgs => imgs.map(i => i.src)")


@pytest.mark.browser
@pytest.mark.slow
def test_page_renders_steps_plays_and_resets(viz_server, tmp_path):
    from playwright.sync_api import sync_playwright

    url, server_log = viz_server
    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = None
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1300})
            page.on(
                "console",
                lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None,
            )
            page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
            page.on(
                "response", lambda r: problems.append(f"HTTP {r.status} {r.url}") if r.status >= 400 else None
            )
            page.goto(url, timeout=PAGE_TIMEOUT_MS)

            # the page and its charts
            page.wait_for_selector("text=This run", timeout=PAGE_TIMEOUT_MS)
            page.wait_for_function(
                "document.querySelectorAll('img.solara-image').length >= 5", timeout=PAGE_TIMEOUT_MS
            )
            page.wait_for_function(
                "[...document.querySelectorAll('img.solara-image')]"
                ".every(i => i.complete && i.naturalWidth > 100)",
                timeout=60_000,
            )
            assert "nov20_2025 · seed 0" in page.inner_text("body")
            assert _steps(page) == 0

            # move the controls, then Reset builds a new model with them
            page.get_by_label("seed", exact=True).fill("7")
            page.get_by_label("seed", exact=True).press("Enter")
            page.get_by_label("dip-buy capital ($)").fill("2bn")
            page.get_by_label("dip-buy capital ($)").press("Enter")
            page.get_by_role("button", name="Reset", exact=True).click()
            page.wait_for_selector("text=nov20_2025 · seed 7 · dip-buy capital $2bn", timeout=60_000)

            # one step: the step counter and the charts change
            before = _chart_sources(page)
            page.get_by_role("button", name="Step", exact=True).click()
            page.wait_for_function("document.body.innerText.includes('Step: 1')", timeout=60_000)
            page.wait_for_function(
                "before => { const now = [...document.querySelectorAll('img.solara-image')].map(i => i.src);"
                " return now.length >= 5 && now.some((s, k) => s !== before[k]); }",
                arg=before,
                timeout=60_000,
            )

            # play for a while, then pause
            page.get_by_role("button", name="▶", exact=True).click()
            page.wait_for_function(
                "(() => { const m = document.body.innerText.match(/Step: (\\d+)/);"
                " return m && Number(m[1]) >= 6; })()",
                timeout=120_000,
            )
            page.get_by_role("button", name="❚❚", exact=True).click()
            page.wait_for_selector("button:has-text('▶')", timeout=30_000)
            time.sleep(1.0)  # let the last update land
            steps = _steps(page)
            assert steps >= 6
            text = page.inner_text("body")
            timing = re.search(r"Wall time per model step[^\n]*", text)
            print(f"\n{timing.group(0) if timing else 'no timing shown'} ({steps} steps)")
            shot = tmp_path / "viz_page.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 20_000
            for word in ERROR_WORDS:
                assert word not in text, f"the page shows {word!r}:\n{text[:3000]}"
        except Exception:
            if page is not None:
                page.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
                print(f"page text at the failure:\n{page.inner_text('body')[:3000]}")
            raise
        finally:
            browser.close()
    assert not problems, "browser reported problems:\n" + "\n".join(problems)
    log = server_log.read_text(errors="replace")
    for word in ("Traceback", "raised exception"):
        assert word not in log, f"the server logged an error:\n{log[-4000:]}"
