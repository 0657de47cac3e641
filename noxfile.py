"""Sessions: tests, e2e (the long end-to-end runs), lint, typecheck, smoke (a real sweep),
browser (the MLflow UI in Chromium), scale_out (PostgreSQL and an mlflow server) and bench
(not run by default).

    python -m pip install nox uv && nox -s tests

uv builds the session environments when it is installed (much faster), else virtualenv.
"""

from __future__ import annotations

import os
import tempfile

import nox

nox.options.default_venv_backend = "uv|virtualenv"
# Python's bytecode cache on, for every session's installs and commands: where
# PYTHONDONTWRITEBYTECODE is set (it is on the machines this project is developed and tested
# on) and uv installs without compiling, every Python process the tests start compiled
# TensorFlow, MLflow and Optuna from source again: 18 s to import the three instead of 6
# (benchmarks/results/test_durations.md), in each of the hundreds of processes CI starts.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.reuse_existing_virtualenvs = True

PYTHON = "3.11"
# pytest-xdist processes: one per usable core, at most 4 (each holds its own TensorFlow);
# on 2 cores the default tests take 0.53 times as long as in one process
# (benchmarks/results/test_durations.md). Pass -n 0 after -- to run in one process.
CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
PARALLEL = ["-n", str(min(4, CORES or 1))]


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The test suite on tiny real-data slices, minutes; extra arguments go to pytest."""
    # The long end-to-end runs, the browser and the PostgreSQL tests have sessions of their own.
    _pytest_in_processes(session, "not e2e and not browser and not postgres and not slurm")


@nox.session(python=PYTHON)
def e2e(session: nox.Session) -> None:
    """The long end-to-end runs (several processes, signals, a whole study); run by CI."""
    _pytest_in_processes(session, "e2e and not browser and not postgres and not slurm")


def _pytest_in_processes(session: nox.Session, markers: str) -> None:
    """pytest on the tests ``markers`` selects, in PARALLEL processes, the 15 slowest printed.
    Exit code 5 (no test collected, e.g. after a -k filter) is not a failure."""
    session.install("-e", ".[test]")
    command = ["pytest", "-m", markers, *PARALLEL, "--durations=15", *session.posargs]
    session.run(*command, success_codes=[0, 5])


@nox.session(python=PYTHON)
def scale_out(session: nox.Session) -> None:
    """Two workers, and a kill -9, on PostgreSQL and an mlflow server on 127.0.0.1; job
    arrays, a multirun and a requeued job on a one-node SLURM cluster.

    Needs PostgreSQL: ``bash .ci/postgres.sh`` (as root) starts Debian's and makes the role
    ``$MNIST_REG_POSTGRES`` names (default postgresql://mnist_reg:mnist_reg@127.0.0.1:5432/postgres);
    and SLURM: ``bash .ci/slurm.sh`` (as root).
    """
    session.install("-e", ".[test,postgres,cluster]")
    tests = ["tests/test_scale_out.py", "tests/test_slurm.py"]
    session.run("pytest", "-m", "postgres or slurm", *tests, *session.posargs)


@nox.session(python=PYTHON)
def browser(session: nox.Session) -> None:
    """The MLflow UI in headless Chromium (/usr/bin/chromium) over a real small sweep."""
    session.install("-e", ".[browser]")
    shots = os.path.join(os.getcwd(), "mlruns", "screenshots")
    session.run(
        "pytest",
        "-m",
        "browser",
        "tests/test_browser.py",
        *session.posargs,
        env={"MNIST_REG_SCREENSHOTS": shots},
    )


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff (lint and format check), import-linter (the architecture's contracts in
    pyproject.toml: layers, one door to MLflow, no cycles; docs/architecture.md) and deptry
    (the declared dependencies against the imports)."""
    session.install("ruff", "import-linter", "deptry")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("lint-imports")
    session.run("deptry", ".")


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy over the package and the tests."""
    session.install("-e", ".[typecheck]")
    session.run(
        "mypy",
        "mnist_reg",
        "hydra_plugins",
        "tests",
        "benchmarks",
        "experiments",
        "dev",
        "noxfile.py",
    )


@nox.session(python=PYTHON)
def smoke(session: nox.Session) -> None:
    """A real two-trial sweep on a real MNIST subset from an empty directory, from the
    installed (not editable) package, run twice. (The Keras Tuner backend and repeats in
    workers have their own tests; tests/test_layout.py checks every package is installed.)"""
    session.install(".[cluster]")  # non-editable: the packaged configs must be found
    command = [
        "python",
        "-m",
        "mnist_reg.sweep",
        "+technique=dropout",
        "sweep.n_trials=2",
        "train.epochs=1",
        "data.train_size=1000",
    ]
    with tempfile.TemporaryDirectory(prefix="mnist-reg-smoke-") as workdir:
        session.chdir(workdir)
        session.run(*command)
        output = session.run(*command, silent=True)
        if "nothing to train" not in str(output):
            session.error("re-running a finished study trained again")
        if not os.path.exists(os.path.join(workdir, "mlruns", "mlflow.db")):
            session.error("no mlruns/mlflow.db in the working directory")
        # the SLURM preset is packaged (its configuration shown; nothing is submitted)
        preset = [*command[:4], "hydra/launcher=slurm", "--cfg", "hydra"]
        if "mnist_reg_launchers.launchers.SlurmLauncher" not in str(
            session.run(*preset, silent=True)
        ):
            session.error("hydra/launcher=slurm is not in the installed package")


BENCHMARKS = [
    "startup",
    "trial_overhead",
    "input_pipeline",
    "determinism",
    "trial_memory",
    "storage_overhead",
    "store_limit",
    "pruning",
    "time_to_accuracy",
    "precision_equivalence",
    "command_speed",
    "throughput",
    "sweep_speed",
]


@nox.session(python=PYTHON, default=False)
def bench(session: nox.Session) -> None:
    """Benchmarks (several hours on 2 cores; results in benchmarks/results/). Name some to run only
    those: ``nox -s bench -- startup determinism``. store_limit and storage_overhead's
    PostgreSQL half need ``bash .ci/postgres.sh``; without it, run ``python
    benchmarks/storage_overhead.py --stores sqlite``."""
    session.install("-e", ".[postgres]")
    for name in session.posargs or BENCHMARKS:
        session.run("python", f"benchmarks/{name}.py")
