"""The search backends' written contract (``search.backend.SearchBackend``), one suite run
over every backend, as Optuna's storage tests are: a new backend is tested by adding it to
``BACKENDS``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mnist_reg.errors import NothingToRepeatError, UserError
from mnist_reg.search import dispatch
from mnist_reg.search.backend import SearchBackend
from mnist_reg.search.keras_tuner.backend import KerasTunerBackend
from mnist_reg.search.optuna.backend import OptunaBackend
from tests.conftest import Compose, tiny_overrides

BACKENDS = ["optuna", "keras_tuner"]


@pytest.mark.parametrize("name", BACKENDS)
def test_dispatch_chooses_the_backend_that_sweep_backend_names(
    name: str, compose_cfg: Compose, tmp_path: Path
) -> None:
    chosen = dispatch.backend(compose_cfg("+technique=dropout", f"sweep.backend={name}"))
    assert isinstance(chosen, SearchBackend)
    assert type(chosen) is {"optuna": OptunaBackend, "keras_tuner": KerasTunerBackend}[name]


@pytest.mark.parametrize("name", BACKENDS)
def test_choosing_a_backend_loads_none_of_the_heavy_libraries(name: str) -> None:
    """The stores are checked in a second, before TensorFlow, Keras Tuner or Optuna load."""
    code = (
        "import sys\n"
        "from hydra import compose, initialize_config_dir\n"
        "from mnist_reg.config.schema import as_config, config_dir\n"
        "from mnist_reg.search import dispatch\n"
        "with initialize_config_dir(config_dir=str(config_dir()), version_base='1.3'):\n"
        f"    cfg = as_config(compose('config', ['+technique=dropout', 'sweep.backend={name}']))\n"
        "chosen = dispatch.backend(cfg)\n"
        "chosen.study_storage(cfg)\n"
        "heavy = ('tensorflow', 'keras', 'keras_tuner', 'optuna')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ
    )
    assert done.stdout.strip() == "[]"


def test_only_a_database_backend_names_a_study_storage(
    compose_cfg: Compose, tmp_path: Path
) -> None:
    cfg = compose_cfg("+technique=dropout", *tiny_overrides(tmp_path))
    assert OptunaBackend().study_storage(cfg) == f"sqlite:///{tmp_path}/mlruns/optuna.db"
    assert KerasTunerBackend().study_storage(cfg) is None  # a project is a folder


def test_keras_tuner_refuses_a_folder_it_cannot_write_before_any_training(
    compose_cfg: Compose, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    cfg = compose_cfg("+technique=dropout", f"sweep.kt_directory={blocker}/projects")
    with pytest.raises(UserError, match=r"sweep\.kt_directory"):
        KerasTunerBackend().preflight(cfg)
    OptunaBackend().preflight(cfg)  # writes no folder of its own: nothing to refuse


@pytest.mark.parametrize("name", BACKENDS)
def test_a_study_never_run_has_nothing_to_repeat(
    name: str, compose_cfg: Compose, tmp_path: Path
) -> None:
    cfg = compose_cfg("+technique=dropout", f"sweep.backend={name}", *tiny_overrides(tmp_path))
    with pytest.raises(NothingToRepeatError, match="mnist-never-run"):
        dispatch.backend(cfg).stored_study(cfg, "mnist-never-run")


@pytest.mark.slow
@pytest.mark.usefixtures("mnist_available")
@pytest.mark.parametrize("name", BACKENDS)
def test_a_finished_study_describes_its_best_trial_for_repeats(
    name: str, compose_cfg: Compose, tmp_path: Path
) -> None:
    cfg = compose_cfg(
        "+technique=dropout",
        f"sweep.backend={name}",
        "sweep.kt_algorithm=random",
        "sweep.pruner=none",
        *tiny_overrides(tmp_path),
    )
    outcome = dispatch.run(cfg)
    assert outcome.best is not None
    stored = dispatch.stored_study(cfg, outcome.study_name)
    assert stored.name == outcome.study_name
    assert stored.values == outcome.best.params  # the searched values of the best trial
    assert stored.parent_run_id == outcome.mlflow_parent_run_id
    assert stored.seeds_used == set(outcome.table["seed"])  # trials' seeds: not for repeats
    assert f"val_accuracy {outcome.best.val_accuracy:.4f}" in stored.described
