"""experiments/reproduce.py: a re-run's means against the committed intervals."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd

from tests.conftest import REPO


def table(rows: list[tuple[str, float, float, float]]) -> pd.DataFrame:
    columns = ["study", "test_mean", "test_ci_low", "test_ci_high"]
    frame = pd.DataFrame(rows, columns=columns)
    frame["verdict"] = "baseline"
    return frame


def test_a_rerun_is_judged_study_by_study_against_the_committed_interval(
    tmp_path: Path,
) -> None:
    table([("a", 0.99, 0.98, 0.995), ("b", 0.97, 0.96, 0.975), ("c", 0.9, 0.8, 1.0)]).to_csv(
        tmp_path / "old.csv", index=False
    )
    rerun = table([("a", 0.991, 0, 1), ("b", 0.98, 0, 1), ("extra", 0.5, 0, 1)])
    rerun.to_csv(tmp_path / "new.csv", index=False)
    command = [sys.executable, "experiments/reproduce.py", str(tmp_path / "old.csv")]
    command += [str(tmp_path / "new.csv"), f"--output={tmp_path / 'out.md'}"]
    subprocess.run(command, cwd=REPO, check=True, capture_output=True)
    text = (tmp_path / "out.md").read_text()
    assert "**not reproduced**: 1 of 2 re-run studies" in text  # b's 98% is above 97.5%
    rows = {line.split(" | ")[0].strip("| "): line for line in text.splitlines()}
    assert "| yes |" in rows["a"] and "**no**" in rows["b"] and "not re-run" in rows["c"]
