"""The training-budget study's runner: the order it trains in, and that a re-run trains only
what is missing. Its steps (a search, a seed, the registration, the report) are recorded
here, not run; the same runner runs end to end on tiny data in the decisive study's e2e test
(``tests/experiments/test_decisive_study.py``), which is its only other user."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from types import ModuleType

import pytest

from mnist_reg import preemption


class Recorder:
    """The runner's steps, recorded in order; ``done`` holds the seeds a store already has."""

    def __init__(self, done: dict[str, set[int]] | None = None) -> None:
        self.steps: list[tuple[str | int, ...]] = []
        self.done = done or {}

    def install(self, runner: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
        def tune(plan: object, technique: str, epochs: int) -> dict[str, str]:
            self.steps.append(("tune", technique, epochs))
            return {"train.learning_rate": "0.001"}

        def repeat(plan: object, cell: tuple[str, int, object], seed: int, *_: object) -> None:
            self.steps.append(("seed", cell[0], cell[1], seed))

        def done_seeds(folder: Path, name: str) -> set[int]:
            return self.done.get(name, set())

        monkeypatch.setattr(runner, "tune", tune)
        monkeypatch.setattr(runner, "repeat", repeat)
        monkeypatch.setattr(runner, "done_seeds", done_seeds)
        monkeypatch.setattr(runner, "best_cell", lambda plan: ("dropout", 9, {}))
        monkeypatch.setattr(runner, "register_best_model", lambda _: self.steps.append(("reg",)))
        monkeypatch.setattr(runner, "write_report", lambda *_: self.steps.append(("report",)))


def plan(runner: ModuleType, tmp_path: Path, *extra: str) -> object:
    argv = ["--folder", str(tmp_path), "--store", str(tmp_path / "store")]
    cells = ["--techniques", "baseline", "dropout", "--budgets", "3", "9"]
    return runner.parse([*argv, *cells, *extra])


def test_cells_train_one_after_another_and_the_longest_baseline_gets_the_headline_seeds(
    runner: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = Recorder()
    recorder.install(runner, monkeypatch)
    runner.run_study(plan(runner, tmp_path, "--seeds", "2"))
    assert recorder.steps == [
        ("tune", "baseline", 3),  # the short cells first: a partial study is already useful
        ("seed", "baseline", 3, 1000),
        ("seed", "baseline", 3, 1001),
        ("tune", "dropout", 3),
        ("seed", "dropout", 3, 1000),
        ("seed", "dropout", 3, 1001),
        ("tune", "baseline", 9),
        *(("seed", "baseline", 9, seed) for seed in (1000, 1001, 1002, 1003)),
        ("tune", "dropout", 9),
        ("seed", "dropout", 9, 1000),
        ("seed", "dropout", 9, 1001),
        *(("seed", "dropout", 9, seed) for seed in (2000, 2001, 2002, 2003)),  # the best cell
        ("reg",),
        ("report",),
    ]


def test_round_robin_trains_each_seed_for_every_cell_before_the_next_seed(
    runner: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = Recorder()
    recorder.install(runner, monkeypatch)
    study = plan(runner, tmp_path, "--seeds", "2")
    study.round_robin = True  # type: ignore[attr-defined]
    runner.run_study(study)
    seeds = [step[1:] for step in recorder.steps if step[0] == "seed" and step[3] in range(2000)]
    first = [("baseline", 3, 1000), ("dropout", 3, 1000), ("baseline", 9, 1000)]
    assert seeds[:4] == [*first, ("dropout", 9, 1000)]
    assert seeds[-2:] == [("baseline", 9, 1002), ("baseline", 9, 1003)]  # the headline's extra
    assert [step[0] for step in recorder.steps[:4]] == ["tune"] * 4


def test_a_rerun_trains_only_the_seeds_its_files_lack(
    runner: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    done = {
        "budget-baseline-e3": {1000, 1001},
        "budget-dropout-e3": {1000},
        "budget-baseline-e9": {1000, 1001, 1002, 1003},
        "budget-dropout-e9": {1000, 1001},
        "budget-best": {2000, 2001, 2003},
    }
    recorder = Recorder(done)
    recorder.install(runner, monkeypatch)
    runner.run_study(plan(runner, tmp_path, "--seeds", "2"))
    trained = [step[1:] for step in recorder.steps if step[0] == "seed"]
    assert trained == [("dropout", 3, 1001), ("dropout", 9, 2002)]
    assert recorder.steps[-2:] == [("reg",), ("report",)]  # both run again: they are cheap


def test_a_command_stopped_to_resume_stops_the_study_with_its_status_not_a_failure(
    runner: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        runner.call([sys.executable, "-c", "raise SystemExit(75)"])
    assert stopped.value.code == 75
    assert "run it again to resume" in capsys.readouterr().out
    with pytest.raises(subprocess.CalledProcessError):
        runner.call([sys.executable, "-c", "raise SystemExit(3)"])


def test_a_stop_signal_to_the_study_goes_on_to_the_command_it_runs(runner: ModuleType) -> None:
    waits_for_usr1 = (
        "import signal, sys, time\n"
        "signal.signal(signal.SIGUSR1, lambda *_: sys.exit(75))\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    timer = threading.Timer(3.0, os.kill, (os.getpid(), signal.SIGUSR1))
    timer.start()
    try:
        with pytest.raises(SystemExit) as stopped:
            runner.call([sys.executable, "-c", waits_for_usr1])
    finally:
        timer.cancel()
        preemption.clear_stop()
    assert stopped.value.code == 75
