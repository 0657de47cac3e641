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

import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import TINY
from tests.servers import mlflow_server

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.usefixtures("mnist_available")]

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
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


def test_runs_table_shows_the_study_its_trials_and_their_metrics(
    store: Path, server: str, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    client = MlflowClient(f"sqlite:///{store}/mlruns/mlflow.db")
    experiment = client.get_experiment_by_name("mnist-reg")
    assert experiment is not None
    trials = [
        run
        for run in client.search_runs([experiment.experiment_id])
        if run.data.tags.get("run_type") == "trial"
    ]
    assert len(trials) == 2
    shots = Path(os.environ.get("MNIST_REG_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-background-networking"]
        )
        try:
            page = browser.new_page(viewport={"width": 1700, "height": 700})
            # the UI keeps polling: wait for "load" and for the content, not network idle
            page.goto(f"{server}/#/experiments/{experiment.experiment_id}/runs", wait_until="load")
            page.get_by_text("mnist-dropout").first.wait_for(timeout=90_000)
            assistant = page.locator("button[aria-label*='lose']")
            if assistant.count():
                assistant.first.click()
            parent = page.locator(
                "[role=gridcell][col-id='attributes.`Run Name`']", has_text="mnist-dropout"
            ).first
            parent.locator("button[data-component-id*='runnamecellrenderer']").click()
            for run in trials:
                page.get_by_text(run.info.run_name, exact=True).first.wait_for(timeout=30_000)
            page.get_by_role("button", name="Columns", exact=True).click()
            menu = page.locator("[role=menu], [role=dialog], [role=listbox]").first
            for column in ("kept_val_accuracy", "test_accuracy", "technique.dropout.rate"):
                menu.get_by_text(column, exact=True).first.click()
            page.keyboard.press("Escape")
            headers = page.locator("[role=columnheader]").all_inner_texts()
            assert {"kept_val_accuracy", "test_accuracy", "technique.dropout.rate"} <= set(headers)
            cells = page.locator("[role=gridcell][col-id*='test_accuracy']")
            cells.first.wait_for(timeout=30_000)
            shown = set(cells.all_inner_texts())
            for run in trials:
                assert f"{run.data.metrics['test_accuracy']:g}" in shown
            page.screenshot(path=str(shots / "mlflow-runs.png"))
        finally:
            browser.close()
    assert (shots / "mlflow-runs.png").stat().st_size > 10_000
