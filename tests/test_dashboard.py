"""optuna-dashboard, the Optuna user's browser view of a study, opens the store a sweep made
(``python -m pip install ".[dashboard]"``, then ``optuna-dashboard sqlite:///mlruns/optuna.db``):
started on 127.0.0.1 over a real small study and read through its HTTP API."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Compose, sweep, tiny_overrides
from tests.servers import free_port

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("mnist_available")]
pytest.importorskip("optuna_dashboard")


def get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


def test_optuna_dashboard_shows_the_study_and_its_trials(
    compose_cfg: Compose, tmp_path: Path
) -> None:
    outcome = sweep(compose_cfg("+technique=dropout", *tiny_overrides(tmp_path)))
    port = free_port()
    dashboard = Path(sys.executable).parent / "optuna-dashboard"
    server = subprocess.Popen(
        [str(dashboard), f"sqlite:///{tmp_path}/mlruns/optuna.db", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                studies = get(f"{base}/api/studies")["study_summaries"]
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.5)
        study = next(s for s in studies if s["study_name"] == "mnist-dropout")
        detail = get(f"{base}/api/studies/{study['study_id']}")
        trials = {t["number"]: t for t in detail["trials"]}
        assert sorted(trials) == [0, 1]
        best = outcome.best
        assert best is not None
        assert trials[best.number]["state"] == "Complete"
        assert trials[best.number]["values"] == [pytest.approx(best.val_accuracy)]
    finally:
        server.terminate()
        server.wait(timeout=30)
