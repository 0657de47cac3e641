"""What every command's ``--help`` says first; what every command line refuses before any
work: bad input, an unwritable ``mlruns/``, an unreachable tracking server, each in one line
and without importing TensorFlow; and a native crash that says where it happened."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.servers import free_port


def run_cli(*args: str, cwd: Path, module: str = "sweep") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", f"mnist_reg.{module}", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("module", ["sweep", "repeat", "compare", "predict"])
def test_help_says_what_the_command_does_before_hydras_groups(tmp_path: Path, module: str) -> None:
    result = run_cli("--help", cwd=tmp_path, module=module)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"python -m mnist_reg.{module} ")  # how it is called
    assert len(lines[2]) > 40 and "Hydra" not in lines[2]  # then what it does, in words
    text = result.stdout
    assert f"\n  python -m mnist_reg.{module} " in text  # an example to copy
    assert text.index("Example") < text.index("== Configuration groups ==")  # still listed
    assert "powered by Hydra" not in text
    assert not (tmp_path / "mlruns").exists()  # help makes nothing


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
        (
            "compare",
            ("compare.equivalence_margin=0",),
            "compare.equivalence_margin=0.0 is invalid",
        ),
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
