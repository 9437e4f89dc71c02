"""The dashboard in headless Chromium (Debian's chromium + chromium-driver) against the real local Cassandra with
seeded data: the chart renders with alert shading, the alerts table filters, the health panel shows live values.
Screenshots go to artifacts/screenshots/."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from fxtrue.settings import PROJECT_ROOT

pytestmark = [pytest.mark.integration, pytest.mark.browser]

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SCREENSHOTS = PROJECT_ROOT / "artifacts" / "screenshots"
WAIT_S = 60  # generous: CI has 2 shared cores


@pytest.fixture(scope="module")
def seeded(settings, cql):
    from dashboard.seed import seed

    report = seed(cql, settings, now=datetime.now(timezone.utc), days=1, recent_s=1200, old_tick_interval_s=60,
                  alerts_per_pair_day=6, recent_alerts=4)
    docs = Path(settings.dq_docs_dir)
    docs.mkdir(parents=True, exist_ok=True)
    (docs / "index.html").write_text("<html><body><h1>FXTrue Data Docs (test site)</h1></body></html>")
    return report


@pytest.fixture(scope="module")
def served(settings, cql, seeded):
    """The app in local-only mode (as the demo runs it) on a free loopback port, served by the server of
    `fxtrue dashboard` (waitress) in a background thread; the Host allow-list is the default one for that port."""
    from ports import free_port

    from dashboard.app import create_app
    from dashboard.data import DashboardData
    from fxtrue.commands.dashboard import make_server

    local = settings.replace(dashboard={"local_only": True, "host": "127.0.0.1", "port": free_port()})
    server = make_server(create_app(local, data=DashboardData(cql, local)).server, local)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}"
    server.close()
    thread.join(10)


@pytest.fixture(scope="module")
def browser():
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if missing:
        pytest.fail(f"{' and '.join(missing)} not installed: the browser test needs Debian's chromium. Install with "
                    "`apt-get update && apt-get install -y chromium chromium-driver` (or `make browser-deps`).")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="fxtrue-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1400,1900", f"--user-data-dir={profile}"):
        opts.add_argument(flag)
    # Service with an explicit path: Selenium Manager never looks for (or downloads) a driver or browser.
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(WAIT_S)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def wait_for(driver, condition, what: str, timeout: float = WAIT_S):
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    def safe(d):
        try:
            return condition(d)
        except (StaleElementReferenceException, WebDriverException):
            return False

    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.25).until(safe)
    except Exception:
        driver.save_screenshot(str(SCREENSHOTS / f"failed-{what.replace(' ', '-')}.png"))
        raise AssertionError(f"timed out waiting for {what}") from None


def text_of(driver, css: str) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, css).text


def choose(driver, dropdown_id: str, label: str) -> None:
    """Pick `label` in a dash 4 dcc.Dropdown (a button that opens a listbox of options)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    wait_for(driver, lambda d: d.find_element(By.ID, dropdown_id).is_displayed(), f"{dropdown_id} shown")
    driver.find_element(By.ID, dropdown_id).click()
    option = wait_for(driver, lambda d: next((o for o in d.find_elements(
        By.CSS_SELECTOR, ".dash-dropdown-options [role=option]") if o.text == label), None), f"option {label}")
    option.click()
    driver.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)


def test_dashboard_in_a_real_browser(browser, served, seeded, settings, cql):
    from selenium.webdriver.common.by import By

    from fxtrue.heartbeats import PRODUCER, HeartbeatWriter

    d = browser
    d.get(served + "/")

    # -- the chart: pick a pair, wait for its bid/ask lines, running mean and shaded alert windows
    pair = "USD/JPY"
    choose(d, "pair", pair)
    wait_for(d, lambda d: f"{pair}:" in text_of(d, "#last-update") and "ticks" in text_of(d, "#last-update"),
             "chart caption for the pair")
    wait_for(d, lambda d: f"{pair}: bid / ask" in text_of(d, "#price-chart .gtitle"), "chart title")
    wait_for(d, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#price-chart .shapelayer path")) >= 1,
             "alert shading")
    # The chart re-renders every second: read its state in one script call (no stale element references).
    chart = d.execute_script("""
        const root = document.querySelector('#price-chart');
        const all = (css) => Array.from(root.querySelectorAll(css));
        return {legend: all('.legendtext').map(e => e.textContent),
                traces: all('.scatterlayer .trace').length,
                longest_line: Math.max(0, ...all('.scatterlayer .trace path.js-line')
                                                  .map(p => (p.getAttribute('d') || '').length)),
                shapes: all('.shapelayer path').length,
                yticks: all('.ytick text').map(e => e.textContent).filter(t => t)};
    """)
    assert {"bid", "ask", "running mean (mid)"} <= set(chart["legend"])
    recent = [a for a in seeded.alerts_by_pair[pair]
              if a["window_start"] >= datetime.now(timezone.utc) - timedelta(minutes=15)]
    assert recent, "the seed puts alerts in the last minutes"
    assert {f"alert: {a['detector']}" for a in recent} <= set(chart["legend"])
    assert chart["shapes"] >= len(recent) - 1  # one shaded window per alert (the oldest may slide out)
    assert chart["traces"] >= 4 and chart["longest_line"] > 100, chart
    # price axis in full prices (3 decimals for JPY pairs)
    assert chart["yticks"] and all(len(t.split(".")[-1]) == 3 for t in chart["yticks"]), chart["yticks"]

    # hover on an alert marker: observed vs threshold and the thresholds version
    from selenium.webdriver.common.action_chains import ActionChains

    def hover_text(d):
        marker = d.find_elements(By.CSS_SELECTOR, "#price-chart .scatterlayer .trace .points path")[0]
        ActionChains(d).move_to_element(marker).perform()
        return text_of(d, "#price-chart .hoverlayer")
    text = wait_for(d, lambda d: (t := hover_text(d)) and "vs threshold" in t and t, "alert hover details")
    assert seeded.thresholds_version in text
    d.save_screenshot(str(SCREENSHOTS / "dashboard-chart.png"))

    # -- the alerts table: every alert of the last 24 h, then filtered by detector and by pair
    total = seeded.alerts
    wait_for(d, lambda d: text_of(d, "#alerts-count").startswith(f"{total} alerts"), "unfiltered alert count")
    choose(d, "alerts-detector", "price_jump")
    expected = sum(1 for rows in seeded.alerts_by_pair.values() for a in rows if a["detector"] == "price_jump")
    wait_for(d, lambda d: text_of(d, "#alerts-count").startswith(f"{expected} alerts"), "detector filter count")

    def grid_column(d, col):
        # AG Grid places rows with transforms: their display order is the row-index attribute, not DOM order.
        return d.execute_script("""
            const rows = Array.from(document.querySelectorAll('#alerts-grid .ag-center-cols-container .ag-row'));
            rows.sort((a, b) => Number(a.getAttribute('row-index')) - Number(b.getAttribute('row-index')));
            return rows.map(r => r.querySelector('[col-id="' + arguments[0] + '"]'))
                       .filter(c => c).map(c => c.textContent.trim());
        """, col)
    wait_for(d, lambda d: grid_column(d, "detector") and set(grid_column(d, "detector")) == {"price_jump"},
             "grid rows filtered by detector")
    starts = grid_column(d, "window_start")
    assert starts == sorted(starts, reverse=True)  # newest first by default
    # sorting: a click on the score header sorts by score
    d.find_element(By.CSS_SELECTOR, "#alerts-grid .ag-header-cell[col-id=score] .ag-header-cell-label").click()

    def scores(d):
        return [float(v) for v in grid_column(d, "score")]
    wait_for(d, lambda d: len(scores(d)) > 2 and scores(d) == sorted(scores(d)), "grid sorted by score")
    choose(d, "alerts-pair", pair)
    both = Counter(a["detector"] for a in seeded.alerts_by_pair[pair])["price_jump"]
    wait_for(d, lambda d: text_of(d, "#alerts-count").startswith(f"{both} alerts"), "detector + pair count")
    wait_for(d, lambda d: set(grid_column(d, "pair")) <= {pair} and len(grid_column(d, "pair")) == both,
             "grid rows filtered by pair")
    d.save_screenshot(str(SCREENSHOTS / "dashboard-alerts-filtered.png"))

    # -- pipeline health: the seeded heartbeat, then a new one shows up without reloading the page
    wait_for(d, lambda d: text_of(d, "#health-producer [data-metric=sent]") == "123456", "producer heartbeat")
    # the panel re-renders every second: read it through wait_for (a stale element is retried)
    wait_for(d, lambda d: text_of(d, "#health-streaming [data-metric=batch_duration_ms]") == "850", "batch time")
    wait_for(d, lambda d: text_of(d, "#health-streaming [data-metric=dlq_rows]") == "3", "dead-letter rows")
    HeartbeatWriter(cql, settings, PRODUCER).beat("running", {"sent": 777001, "lag_s": 1.5, "rejected": 4})
    wait_for(d, lambda d: text_of(d, "#health-producer [data-metric=sent]") == "777001", "live heartbeat update")
    wait_for(d, lambda d: text_of(d, "#health-producer [data-metric=lag_s]") == "1.5", "producer lag")
    age = wait_for(d, lambda d: float(text_of(d, "#health-producer .age").split()[0]) + 1, "heartbeat age") - 1
    assert 0 <= age < 30

    # -- thresholds and data quality
    assert text_of(d, "#thresholds-version") == seeded.thresholds_version
    assert pair in text_of(d, "#thresholds-table")
    assert "FAIL" in text_of(d, "#dq-table") and "PASS" in text_of(d, "#dq-table")
    d.save_screenshot(str(SCREENSHOTS / "dashboard-panels.png"))
    href = d.find_element(By.ID, "dq-docs-link").get_attribute("href")
    d.get(href)
    wait_for(d, lambda d: "FXTrue Data Docs" in d.find_element(By.TAG_NAME, "h1").text, "Data Docs site")


def test_served_dashboard_refuses_a_foreign_host(served):
    """DNS rebinding: a page of attacker.example whose name now points at 127.0.0.1 sends its own Host."""
    import requests

    assert requests.get(served + "/healthz", timeout=10).status_code == 200
    r = requests.get(served + "/_dash-layout", headers={"Host": "attacker.example"}, timeout=10)
    assert r.status_code == 400 and "price-chart" not in r.text
