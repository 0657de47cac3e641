"""The MLflow UI, in a real headless Chromium, over a store made by a real small sweep.

Run by ``nox -s browser`` (which installs Playwright; the browser is Debian's ``chromium``,
since browser downloads are not possible here). The screenshot goes to
``$MNIST_REG_SCREENSHOTS`` (default: the test's temporary folder).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import TINY
from tests.servers import mlflow_server

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.usefixtures("mnist_available")]

CHROMIUM = "/usr/bin/chromium"


# A folder holding a real sweep's mlruns/ (the README's screenshots); default: a tiny sweep
REAL_STORE = os.environ.get("MNIST_REG_UI_STORE")
# A real study's store holding a comparison (a tracking URI); default: two tiny studies
REAL_COMPARED = os.environ.get("MNIST_REG_UI_COMPARED")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if REAL_STORE:
        return Path(REAL_STORE)
    root = tmp_path_factory.mktemp("ui")
    subprocess.run(
        [sys.executable, "-m", "mnist_reg.sweep", "+technique=dropout", *TINY],
        cwd=root,
        check=True,
        capture_output=True,
        timeout=900,
    )
    return root


@pytest.fixture(scope="module")
def server(store: Path) -> Iterator[str]:
    with mlflow_server(f"sqlite:///{store}/mlruns/mlflow.db", store / "server", workers=1) as url:
        yield url


def cli(module: str, *args: str, cwd: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", f"mnist_reg.{module}", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        timeout=900,
    )


@pytest.fixture(scope="module")
def compared(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The tracking URI of two tiny studies with two seed repeats each, and their comparison."""
    if REAL_COMPARED:
        return REAL_COMPARED
    root = tmp_path_factory.mktemp("compared")
    for technique in ("baseline", "dropout"):
        cli("sweep", f"+technique={technique}", *TINY, cwd=root)
        cli("repeat", f"+technique={technique}", *TINY, "repeat.count=2", cwd=root)
    cli("compare", cwd=root)
    return f"sqlite:///{root}/mlruns/mlflow.db"


def launch(playwright: Any) -> Any:
    return playwright.chromium.launch(
        executable_path=CHROMIUM, args=["--no-sandbox", "--disable-background-networking"]
    )


def show_columns(page: Any, columns: tuple[str, ...]) -> None:
    """Tick ``columns`` in the runs table's Columns menu."""
    page.get_by_role("button", name="Columns", exact=True).click()
    menu = page.locator("[role=menu], [role=dialog], [role=listbox]").first
    for column in columns:
        menu.get_by_text(column, exact=True).first.click()
    page.keyboard.press("Escape")


def widen(page: Any, column: str, pixels: int) -> None:
    """Drag the right edge of the runs table's ``column`` header ``pixels`` to the right."""
    header = page.locator(f"[role=columnheader][col-id='{column}']").first
    edge = header.locator(".ag-header-cell-resize").bounding_box()
    page.mouse.move(edge["x"] + 2, edge["y"] + 5)
    page.mouse.down()
    page.mouse.move(edge["x"] + 2 + pixels, edge["y"] + 5, steps=5)
    page.mouse.up()


def expand(page: Any, run_name: str) -> None:
    """Open a parent run's nested runs with the + beside its name."""
    parent = page.locator(
        "[role=gridcell][col-id='attributes.`Run Name`']", has_text=run_name
    ).first
    parent.locator("button[data-component-id*='runnamecellrenderer']").click()


def study_runs(store: Path) -> tuple[str, list[Any]]:
    """The mnist-reg experiment's ID in ``store`` and its trial runs."""
    client = MlflowClient(f"sqlite:///{store}/mlruns/mlflow.db")
    experiment = client.get_experiment_by_name("mnist-reg")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id])
    return experiment.experiment_id, [r for r in runs if r.data.tags.get("run_type") == "trial"]


def screenshots(tmp_path: Path) -> Path:
    shots = Path(os.environ.get("MNIST_REG_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    return shots


def test_runs_table_shows_the_study_its_trials_and_their_metrics(
    store: Path, server: str, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    experiment_id, trials = study_runs(store)
    assert len(trials) == 2 or (REAL_STORE and trials)
    shots = screenshots(tmp_path)
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page(viewport={"width": 1700, "height": 700})
            # the UI keeps polling: wait for "load" and for the content, not network idle
            page.goto(f"{server}/#/experiments/{experiment_id}/runs", wait_until="load")
            page.get_by_text("mnist-dropout").first.wait_for(timeout=90_000)
            assistant = page.locator("button[aria-label*='lose']")
            if assistant.count():
                assistant.first.click()
            expand(page, "mnist-dropout")
            for run in trials:
                page.get_by_text(run.info.run_name, exact=True).first.wait_for(timeout=30_000)
            show_columns(page, ("kept_val_accuracy", "test_accuracy", "technique.dropout.rate"))
            headers = page.locator("[role=columnheader]").all_inner_texts()
            assert {"kept_val_accuracy", "test_accuracy", "technique.dropout.rate"} <= set(headers)
            cells = page.locator("[role=gridcell][col-id*='test_accuracy']")
            cells.first.wait_for(timeout=30_000)
            shown = set(cells.all_inner_texts())
            for run in trials:
                if "test_accuracy" in run.data.metrics:  # a pruned trial has none
                    assert f"{run.data.metrics['test_accuracy']:g}" in shown
            page.screenshot(path=str(shots / "mlflow-runs.png"))
        finally:
            browser.close()
    assert (shots / "mlflow-runs.png").stat().st_size > 10_000


def test_each_compared_study_shows_its_mean_and_interval_as_columns(
    compared: str, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    client = MlflowClient(compared)
    experiments = [e.experiment_id for e in client.search_experiments()]
    comparison = client.search_runs(
        experiments, "tags.run_type = 'comparison'", order_by=["attributes.start_time DESC"]
    )[0]
    parent = f"tags.mlflow.parentRunId = '{comparison.info.run_id}'"
    rows = {r.info.run_name: r for r in client.search_runs(experiments, parent)}
    assert set(rows) == {"mnist-baseline", "mnist-dropout"} or (REAL_COMPARED and rows)
    shots = screenshots(tmp_path)
    columns = ("test_mean", "test_ci_low", "test_ci_high", "diff", "p_holm", "verdict")
    with (
        mlflow_server(compared, tmp_path / "server", workers=1) as url,
        sync_playwright() as playwright,
    ):
        browser = launch(playwright)
        try:
            page = browser.new_page(viewport={"width": 1700, "height": 760})
            experiment = comparison.info.experiment_id
            page.goto(f"{url}/#/experiments/{experiment}/runs", wait_until="load")
            page.get_by_text(comparison.info.run_name).first.wait_for(timeout=90_000)
            assistant = page.locator("button[aria-label*='lose']")
            if assistant.count():
                assistant.first.click()
            search = page.get_by_placeholder('metrics.rmse < 1 and params.model = "tree"')
            search.fill(parent)  # the comparison's rows only (MLflow keeps their parent)
            search.press("Enter")
            page.wait_for_timeout(2_000)
            expand(page, comparison.info.run_name)
            for name in rows:
                page.get_by_text(name, exact=True).first.wait_for(timeout=30_000)
            show_columns(page, ("Dataset", "Source", "Models", *columns))  # untick, tick
            headers = page.locator("[role=columnheader]").all_inner_texts()
            assert set(columns) <= set(headers)
            cells = page.locator("[role=gridcell][col-id*='test_mean']")
            cells.first.wait_for(timeout=30_000)
            shown = [float(t) for t in cells.all_inner_texts() if t.strip() not in ("", "-")]
            for row in rows.values():  # MLflow prints the stored float as it is
                assert row.data.metrics["test_mean"] in [pytest.approx(v) for v in shown]
            widen(page, "attributes.`Run Name`", 120)
            widen(page, "tags.`verdict`", 260)
            page.wait_for_timeout(1_000)
            page.screenshot(path=str(shots / "mlflow-compare.png"))
            # the same rows in the chart view, every one shown, their differences from the
            # baseline (bars of accuracies start at 0 and all look alike)
            page.locator("label:has(input[value=CHART])").click()
            page.get_by_placeholder("Search metric charts").wait_for(timeout=30_000)
            page.locator("[role=columnheader] button").first.click()
            page.get_by_text("Show all runs").first.click()
            page.get_by_placeholder("Search metric charts").fill("diff")
            page.get_by_text("diff_ci_low", exact=True).first.wait_for(timeout=30_000)
            page.wait_for_timeout(3_000)  # the charts animate in
            page.screenshot(path=str(shots / "mlflow-compare-chart.png"))
        finally:
            browser.close()
    assert (shots / "mlflow-compare-chart.png").stat().st_size > 10_000


def test_chart_view_compares_the_trials_of_a_study(
    store: Path, server: str, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    experiment_id, runs = study_runs(store)
    trials = [run.info.run_name for run in runs]
    shots = screenshots(tmp_path)
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1150})
            page.goto(
                f"{server}/#/experiments/{experiment_id}/runs?compareRunsMode=CHART",
                wait_until="load",
            )
            page.get_by_text("mnist-dropout").first.wait_for(timeout=90_000)
            assistant = page.locator(
                "button[data-component-id='mlflow.assistant.chat_panel.close']"
            )
            if assistant.count():
                assistant.first.click()
            page.locator("button[data-component-id*='runnamecellrenderer']").first.click()
            for name in trials:  # the trials are listed and plotted
                page.get_by_text(name, exact=True).first.wait_for(timeout=30_000)
            page.get_by_placeholder("Search metric charts").fill("val_accuracy")
            for chart in ("val_accuracy", "kept_val_accuracy"):
                page.get_by_text(chart, exact=True).first.wait_for(timeout=30_000)
            page.wait_for_timeout(3_000)  # the charts animate in
            page.screenshot(path=str(shots / "mlflow-chart.png"))
        finally:
            browser.close()
    assert (shots / "mlflow-chart.png").stat().st_size > 10_000
