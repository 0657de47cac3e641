"""What a sweep, a repeat and a compare leave behind, as text to diff across a refactor.

    python dev/behaviour_dump.py OUT_DIR [--source PACKAGE_PARENT]

Runs, in an empty folder, a small deterministic Optuna sweep (plain, and with
``sweep.strategy=promote``), a Keras Tuner Hyperband sweep, seed repeats of a study's best
trial and of a composed configuration, and a comparison; then writes into ``OUT_DIR``:

- ``stdout.txt``: what each command printed (tables), with seconds and dates masked;
- ``mlflow.txt``: every run's name, status, parent, params, metric histories, tags and
  artifact paths, and the registered models' versions, aliases and tags;
- ``optuna.txt``: every study's attributes and each trial's state, value, parameters,
  user attributes and intermediate values.

Run ids, timestamps, durations, host names and paths of the temporary folder are replaced
by stable names, so two dumps differ only where behaviour did. ``--source`` puts another
checkout's package first on ``sys.path`` of the commands (the "before" of a refactor).
``train.deterministic=true`` makes the accuracies themselves comparable.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

# Keras Tuner's oracles draw other values in every process whatever sweep.seed says (three
# runs of one command, one code, three dropout rates), so its runs go to an experiment of
# their own, which compare does not read, and only the names of their values are compared.
KT_EXPERIMENT = "mnist-reg-kt"
SMALL = ["train.epochs=2", "data.train_size=600", "train.deterministic=true"]
COMMANDS: list[list[str]] = [
    ["mnist_reg.sweep", "+technique=dropout", "sweep.n_trials=3", *SMALL],
    ["mnist_reg.sweep", "+technique=dropout", "sweep.n_trials=3", *SMALL],  # nothing to train
    [
        "mnist_reg.sweep",
        "+technique=l2",
        "sweep.n_trials=4",
        "sweep.strategy=promote",
        "train.epochs=4",
        "data.train_size=600",
        "train.deterministic=true",
    ],
    [
        "mnist_reg.sweep",
        "+technique=dropout",
        "sweep.n_trials=2",
        "sweep.backend=keras_tuner",
        "sweep.kt_algorithm=hyperband",
        f"mlflow.experiment={KT_EXPERIMENT}",
        *SMALL,
    ],
    ["mnist_reg.repeat", "+technique=dropout", "repeat.count=2", *SMALL],
    [
        "mnist_reg.repeat",
        "+technique=baseline",
        "repeat.source=config",
        "repeat.count=2",
        "repeat.vary_split=true",
        *SMALL,
    ],
    ["mnist_reg.compare", "compare.output_dir=comparison"],
]

# Values that change from run to run whatever the code does.
VOLATILE_METRICS = {"train_seconds", "seconds", "duration"}
STABLE_TAGS = {  # what a Keras Tuner run's tags say whatever values its oracle drew
    "run_type",
    "technique",
    "study_name",
    "backend",
    "kt_algorithm",
    "kt_trial_id",
    "kt_continues_trial",
    "trial_number",
    "trial_state",
    "mlflow.runName",
    "mlflow.parentRunId",
}
VOLATILE_TAG_PREFIXES = ("mlflow.source", "mlflow.user", "mlflow.log-model.history")
MASKS = [
    (re.compile(r"\b[0-9a-f]{32}\b"), "<run-id>"),
    (re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?"), "<time>"),
    (re.compile(r"\b\d+(\.\d+)? ?(s|seconds|ms|min)\b"), "<secs>"),
    (re.compile(r"\bm-[0-9a-f]{32}\b"), "<model-id>"),
    (re.compile(r"\b\d+m\d+s\b"), "<secs>"),  # elapsed and time left
    (re.compile(r"comparison-\d{8}-\d{6}"), "comparison-<time>"),
    (re.compile(r'(?<=")[\w.-]+:\d+:\d+(?=\\?")'), "<worker>"),  # host:pid:thread
    (re.compile(r"(\[<time>),\d+\]"), r"\1]"),
]
NUMBER = re.compile(r"\d+(\.\d+)?(e-?\d+)?")


def run_commands(workdir: Path, source: Path | None) -> str:
    env = dict(os.environ, PYTHONHASHSEED="0", MNIST_REG_DUMP="1")
    if source is not None:
        env["PYTHONPATH"] = f"{source}{os.pathsep}{env.get('PYTHONPATH', '')}"
    printed = []
    for command in COMMANDS:
        done = subprocess.run(
            [sys.executable, "-m", *command],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        stdout = done.stdout
        if any(KT_EXPERIMENT in part for part in command):
            stdout = NUMBER.sub("<n>", MASKS[0][0].sub("<run-id>", stdout))
        printed.append(f"$ {' '.join(command)}\nexit {done.returncode}\n{stdout}")
        if done.returncode != 0:
            printed.append(done.stderr[-3000:])
    return "\n".join(printed)


def mask(text: str, workdir: Path, names: dict[str, str]) -> str:
    for run_id, name in names.items():
        text = text.replace(run_id, f"<{name}>")
    text = text.replace(str(workdir.resolve()), "<workdir>").replace(str(workdir), "<workdir>")
    for pattern, replacement in MASKS:
        text = pattern.sub(replacement, text)
    return text


def run_names(client: Any, experiments: list[Any]) -> dict[str, str]:
    """Each run id's stable name: its experiment, its parent's name and its own."""
    runs = [r for e in experiments for r in client.search_runs([e.experiment_id], "", 1, 10000)]
    by_id = {r.info.run_id: r for r in runs}

    def name(run: Any) -> str:
        parent = run.data.tags.get("mlflow.parentRunId")
        own = f"{run.info.experiment_id}:{run.info.run_name}"
        return f"{name(by_id[parent])}/{own}" if parent in by_id else own

    return {run_id: name(run) for run_id, run in by_id.items()}


def dump_mlflow(workdir: Path) -> tuple[str, dict[str, str]]:
    import mlflow

    client = mlflow.MlflowClient(f"sqlite:///{workdir / 'mlruns' / 'mlflow.db'}")
    experiments = client.search_experiments()
    names = run_names(client, experiments)
    lines: list[str] = []
    kt_ids = {e.experiment_id for e in experiments if e.name == KT_EXPERIMENT}
    for run_id, name in sorted(names.items(), key=lambda item: item[1]):
        lines.extend(run_lines(client, run_id, name, keys_only=name.split(":")[0] in kt_ids))
    for model in client.search_registered_models():
        lines.append(f"MODEL {model.name} aliases={sorted(model.aliases)}")
        for version in client.search_model_versions(f"name = '{model.name}'"):
            tags = sorted(version.tags.items())
            if version.tags.get("study_name", "").endswith("-kt-hyperband"):
                tags = [
                    (key, NUMBER.sub("<n>", MASKS[0][0].sub("<run-id>", value)))
                    for key, value in tags
                ]
            lines.append(f"  version {version.version} run={version.run_id} tags={tags}")
    return mask("\n".join(lines), workdir, names), names


def run_lines(client: Any, run_id: str, name: str, keys_only: bool) -> list[str]:
    """A run's status, params, metric histories, tags and artifacts; with ``keys_only``
    the values of params and metrics are left out."""
    run = client.get_run(run_id)
    lines = [f"RUN {name} status={run.info.status}"]
    for key, value in sorted(run.data.params.items()):
        lines.append(f"  param {key}" if keys_only else f"  param {key}={value}")
    for key in sorted(run.data.metrics):
        if key in VOLATILE_METRICS:
            continue
        history = client.get_metric_history(run_id, key)
        values = [(m.step, round(m.value, 6)) for m in sorted(history, key=lambda m: m.step)]
        lines.append(
            f"  metric {key} steps={[s for s, _ in values]}"
            if keys_only
            else f"  metric {key}={values}"
        )
    for key, value in sorted(run.data.tags.items()):
        if not key.startswith(VOLATILE_TAG_PREFIXES):
            lines.append(
                f"  tag {key}" if keys_only and key == "error" else f"  tag {key}={value}"
            )
    lines.extend(f"  artifact {path}" for path in artifact_paths(client, run_id, ""))
    return lines


def artifact_paths(client: Any, run_id: str, path: str) -> list[str]:
    found = []
    for item in client.list_artifacts(run_id, path or None):
        if item.is_dir:
            found.extend(artifact_paths(client, run_id, item.path))
        else:
            found.append(item.path)
    return sorted(found)


def dump_optuna(workdir: Path) -> str:
    """The Optuna database read directly: its tables are the storage's contract."""
    connection = sqlite3.connect(workdir / "mlruns" / "optuna.db")
    lines: list[str] = []
    studies = connection.execute("select study_id, study_name from studies order by study_name")
    for study_id, study_name in studies.fetchall():
        lines.append(f"STUDY {study_name}")
        attrs = connection.execute(
            "select key, value_json from study_user_attributes where study_id=? order by key",
            (study_id,),
        )
        lines.extend(f"  attr {key}={value}" for key, value in attrs.fetchall())
        trials = connection.execute(
            "select trial_id, number, state from trials where study_id=? order by number",
            (study_id,),
        )
        for trial_id, number, state in trials.fetchall():
            lines.append(f"  TRIAL {number} {state} {trial_rows(connection, trial_id)}")
    return "\n".join(lines)


def trial_rows(connection: sqlite3.Connection, trial_id: int) -> str:
    queries = {
        "value": "select value from trial_values where trial_id=?",
        "params": "select param_name, param_value from trial_params where trial_id=? order by 1",
        "attrs": "select key, value_json from trial_user_attributes where trial_id=? order by 1",
        "steps": "select step, intermediate_value from trial_intermediate_values "
        "where trial_id=? order by step",
    }
    found: dict[str, Any] = {}
    for name, query in queries.items():
        rows = connection.execute(query, (trial_id,)).fetchall()
        if name == "attrs":
            rows = [(k, v) for k, v in rows if k != "train_seconds"]
        found[name] = rows
    return json.dumps(found, default=str)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--source", type=Path, default=None)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mnist-reg-dump-") as folder:
        workdir = Path(folder)
        printed = run_commands(workdir, args.source)
        stored, names = dump_mlflow(workdir)
        (args.out / "mlflow.txt").write_text(stored + "\n")
        (args.out / "stdout.txt").write_text(mask(printed, workdir, names) + "\n")
        (args.out / "optuna.txt").write_text(mask(dump_optuna(workdir), workdir, names) + "\n")
    print(f"dumped into {args.out}: stdout.txt, mlflow.txt, optuna.txt")


if __name__ == "__main__":
    main()
