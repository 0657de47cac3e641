"""Composition and validation: bad values are refused with the key and the allowed range."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from mnist_reg.config.schema import available_techniques
from mnist_reg.config.validation import config_errors
from tests.conftest import Compose

TECHNIQUES = ["augmentation", "baseline", "combined", "dropout", "early_stopping", "l2"]


def test_every_technique_is_listed() -> None:
    assert available_techniques() == TECHNIQUES


@pytest.mark.parametrize("technique", TECHNIQUES)
def test_each_technique_composes_and_validates(compose_cfg: Compose, technique: str) -> None:
    cfg = compose_cfg(f"+technique={technique}")
    assert cfg.technique.name == technique
    assert config_errors(cfg) == []


def test_search_spaces_match_the_issue(compose_cfg: Compose) -> None:
    assert not compose_cfg("+technique=baseline").technique.search_space
    l2 = compose_cfg("+technique=l2").technique.search_space["l2_weight"]
    assert (l2.low, l2.high, l2.log) == (1e-6, 1e-2, True)
    dropout = compose_cfg("+technique=dropout").technique.search_space
    assert (dropout["dropout_rate"].low, dropout["dropout_rate"].high) == (0.0, 0.6)
    assert dropout["dropout_second_rate"].when == "technique.dropout.second"
    stopping = compose_cfg("+technique=early_stopping")
    assert stopping.train.epochs == 20
    assert stopping.technique.early_stopping.enabled
    combined = compose_cfg("+technique=combined")
    paths = {spec.path for spec in combined.technique.search_space.values()}
    for other in ("l2", "dropout", "augmentation", "early_stopping"):
        space = compose_cfg(f"+technique={other}").technique.search_space
        assert {spec.path for spec in space.values()} <= paths
    assert combined.technique.name == "combined"
    assert combined.train.epochs == 20


def test_command_line_override_beats_technique_default(compose_cfg: Compose) -> None:
    assert compose_cfg("+technique=early_stopping", "train.epochs=3").train.epochs == 3


@pytest.mark.parametrize(
    ("override", "key", "allowed"),
    [
        ("technique.dropout.rate=1.5", "technique.dropout.rate=1.5", "0 <= value < 1"),
        ("technique.l2.weight=-0.1", "technique.l2.weight=-0.1", "0 <= value <= 1"),
        ("train.epochs=0", "train.epochs=0", "1 <= value <= 1000"),
        ("train.learning_rate=0", "train.learning_rate=0.0", "0 < value"),
        ("data.train_size=60000", "data.train_size=60000", "10 to 55000"),
        ("data.val_size=5", "data.val_size=5", "10 <= value"),
        ("data.name=cifar", "data.name=cifar", "mnist, fashion_mnist"),
        ("sweep.sampler=cmaes", "sweep.sampler=cmaes", "tpe, random, grid"),
        ("sweep.pruner=asha", "sweep.pruner=asha", "median, hyperband, none"),
        ("sweep.backend=ray", "sweep.backend=ray", "optuna, keras_tuner"),
        ("sweep.kt_algorithm=grid", "sweep.kt_algorithm=grid", "hyperband, bayesian, random"),
        (
            "technique.search_space.dropout_rate.high=1.5",
            "technique.search_space.dropout_rate.high=1.5",
            "0 <= value < 1",
        ),
        (
            "technique.search_space.dropout_rate.path=data.val_size",
            "technique.search_space.dropout_rate.path=data.val_size",
            "cannot be searched",
        ),
    ],
)
def test_out_of_range_values_are_refused(
    compose_cfg: Compose, override: str, key: str, allowed: str
) -> None:
    errors = config_errors(compose_cfg("+technique=dropout", override))
    assert len(errors) == 1, errors
    assert key in errors[0]
    assert allowed in errors[0]


def test_grid_sampler_needs_grid_values(compose_cfg: Compose) -> None:
    cfg = compose_cfg(
        "+technique=dropout", "sweep.sampler=grid", "technique.search_space.dropout_rate.grid=null"
    )
    assert any("dropout_rate.grid" in e for e in config_errors(cfg))


def run_cli(*args: str, cwd: Path, module: str = "sweep") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", f"mnist_reg.{module}", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((), "add +technique=NAME, NAME one of: augmentation, baseline, combined"),
        (("+technique=nope",), "Could not find 'technique/nope'"),
        (("+technique=dropout", "technique.dropout.rate=1.5"), "technique.dropout.rate=1.5"),
        (("+technique=dropout", "train.epochs=abc"), "train.epochs"),
        (("+technique=dropout", "train.epochz=3"), "Key 'epochz' not in 'TrainConfig'"),
        (
            ("+technique=dropout", "sweep.backend=keras_tuner", "sweep.kt_algorithm=bohb"),
            "sweep.kt_algorithm=bohb is invalid; allowed: one of hyperband, bayesian, random",
        ),
        (
            ("+technique=dropout", "sweep.storage=notaurl://x"),
            "sweep.storage=notaurl://x is invalid; allowed: a URL starting with sqlite://...",
        ),
        (
            ("+technique=dropout", "mlflow.tracking_uri=foo://x"),
            "mlflow.tracking_uri=foo://x is invalid; allowed: a URL starting with sqlite://...",
        ),
    ],
)
def test_cli_refuses_bad_input_quickly_and_leaves_no_run(
    tmp_path: Path, args: tuple[str, ...], expected: str
) -> None:
    start = time.monotonic()
    result = run_cli(*args, cwd=tmp_path)
    assert result.returncode != 0
    assert expected in result.stderr + result.stdout
    assert time.monotonic() - start < 60  # generous: no TensorFlow import, no training
    assert not (tmp_path / "mlruns" / "mlflow.db").exists()
    assert not (tmp_path / "mlruns" / "optuna.db").exists()
    assert not (tmp_path / "mlruns" / "keras_tuner").exists()


@pytest.mark.parametrize(
    ("module", "args", "expected"),
    [
        ("repeat", (), "add +technique=NAME"),
        ("repeat", ("+technique=l2", "repeat.count=0"), "repeat.count=0 is invalid"),
        ("repeat", ("+technique=l2", "repeat.source=worst"), "repeat.source=worst is invalid"),
        ("compare", ("compare.since=yesterday",), "compare.since=yesterday is invalid"),
        ("predict", (), "nothing to classify; give index=N"),
        ("predict", ("index=10000",), "index=10000 is invalid; allowed: 0 to 9999"),
        ("predict", ("images=[missing.png]",), "error: missing.png: no such file"),
    ],
)
def test_other_commands_refuse_bad_input_before_any_work(
    tmp_path: Path, module: str, args: tuple[str, ...], expected: str
) -> None:
    result = run_cli(*args, cwd=tmp_path, module=module)
    assert result.returncode != 0
    assert expected in result.stderr
    assert not (tmp_path / "mlruns" / "mlflow.db").exists()


def test_validation_imports_no_tensorflow() -> None:
    code = (
        "import sys\n"
        "from hydra import compose, initialize_config_dir\n"
        "from mnist_reg.config.schema import config_dir\n"
        "from mnist_reg.cli import check\n"
        "with initialize_config_dir(config_dir=str(config_dir()), version_base='1.3'):\n"
        "    check(compose('config', overrides=['+technique=combined']))\n"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'heavy import'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("module", ["sweep", "repeat"])
def test_unwritable_mlruns_is_refused_before_anything_is_made(tmp_path: Path, module: str) -> None:
    (tmp_path / "mlruns").write_text("a file where the folder should be")
    result = run_cli("+technique=dropout", "repeat.source=config", cwd=tmp_path, module=module)
    assert result.returncode != 0
    assert "cannot write to mlruns/" in result.stderr
    assert result.stderr.count("\n") <= 2  # one line (plus Hydra's nothing)
    assert (tmp_path / "mlruns").read_text() == "a file where the folder should be"


def test_unreachable_tracking_server_is_refused_before_anything_is_made(tmp_path: Path) -> None:
    url = f"http://user:s3cr3t@127.0.0.1:{free_port()}"
    result = run_cli("+technique=dropout", f"mlflow.tracking_uri={url}", cwd=tmp_path)
    assert result.returncode != 0
    assert "the tracking server does not answer" in result.stderr
    assert "s3cr3t" not in result.stderr
    assert not (tmp_path / "mlruns" / "optuna.db").exists()


def test_a_setting_added_since_a_study_began_is_accepted_at_its_default(
    compose_cfg: Compose,
) -> None:
    """A study stored before ``train.deterministic`` existed resumes, unless it is changed."""
    from mnist_reg.errors import ConfigError
    from mnist_reg.search.settings import refuse_changed_settings, trial_settings

    cfg = compose_cfg("+technique=l2")
    stored = trial_settings(cfg)
    del stored["train.deterministic"]
    refuse_changed_settings("old-study", stored, cfg)
    changed = compose_cfg("+technique=l2", "train.deterministic=true")
    with pytest.raises(ConfigError, match=r"train.deterministic=True \(study: None\)"):
        refuse_changed_settings("old-study", stored, changed)
    stored["train.epochs"] = 3  # a stored setting that differs is still refused
    with pytest.raises(ConfigError, match=r"train.epochs=5 \(study: 3\)"):
        refuse_changed_settings("old-study", stored, cfg)


def test_a_changed_search_space_is_named_by_the_bounds_that_changed(
    compose_cfg: Compose,
) -> None:
    """Resuming with another search space names the bounds that differ, not both whole
    spaces (a 4,000-character line for ``combined``)."""
    from mnist_reg.errors import ConfigError
    from mnist_reg.search.settings import refuse_changed_settings, trial_settings

    stored = trial_settings(compose_cfg("+technique=combined"))
    changed = compose_cfg(
        "+technique=combined",
        "technique.search_space.patience.high=8",
        "technique.search_space.min_delta.high=0.0004",
    )
    with pytest.raises(ConfigError) as refusal:
        refuse_changed_settings("old-study", stored, changed)
    message = str(refusal.value)
    assert "technique.search_space.min_delta.high=0.0004 (study: 0.002)" in message
    assert "technique.search_space.patience.high=8" in message
    assert "rotation_degrees" not in message
    assert len(message) < 400


def test_a_native_crash_says_where_it_happened() -> None:
    """A crash inside TensorFlow's C++ (a segfault, an abort) kills the process without a
    Python traceback; the entry points print where each thread was instead of nothing."""
    crash = (
        "import ctypes; from mnist_reg.cli import run_guarded; "
        "run_guarded(lambda: ctypes.string_at(0))"
    )
    done = subprocess.run([sys.executable, "-c", crash], capture_output=True, text=True)
    assert done.returncode != 0
    assert "Fatal Python error: Segmentation fault" in done.stderr
    assert "run_guarded" in done.stderr


def test_a_database_url_without_its_driver_names_the_extra_to_install() -> None:
    from mnist_reg.config.stores import STORAGE_SCHEMES, url_problem

    problem = url_problem("sweep.storage", "postgresql+nodriver://u:pw@h/db", STORAGE_SCHEMES)
    assert problem is not None
    assert problem.startswith("sweep.storage=postgresql+nodriver://u:***@h/db: no ")
    assert problem.endswith("python -m pip install 'mnist-reg[postgres]'")
    assert "\n" not in problem
    assert url_problem("sweep.storage", "sqlite:///mlruns/optuna.db", STORAGE_SCHEMES) is None
