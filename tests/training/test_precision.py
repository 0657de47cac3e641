"""train.precision: the dtype policy resolved from the hardware, the CNN computing in it
with a float32 output, and a bfloat16 trial's logged model predicting float32."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest

from mnist_reg.config.technique import TechniqueConfig
from mnist_reg.errors import ConfigError
from mnist_reg.training import precision
from mnist_reg.training.model import build_model
from tests.conftest import Compose, sweep, tiny_overrides, tracked_runs

NO_BF16 = frozenset({"avx2", "avx512f"})
BF16 = frozenset({"avx2", "avx512f", "avx512_bf16"})


@pytest.mark.parametrize(
    ("flags", "gpus", "expected"),
    [
        (BF16, (), "mixed_bfloat16"),
        (frozenset({"amx_bf16", "amx_tile"}), (), "mixed_bfloat16"),
        (NO_BF16, (), "float32"),
        (NO_BF16, ((8, 0),), "mixed_bfloat16"),  # Ampere and newer
        (BF16, ((7, 5),), "float32"),  # the GPU trains, and it has no bfloat16 units
        (BF16, ((9, 0), (7, 0)), "float32"),  # every GPU must have them
    ],
)
def test_auto_picks_bfloat16_only_where_the_hardware_computes_it(
    flags: frozenset[str], gpus: tuple[tuple[int, int], ...], expected: str
) -> None:
    assert precision.resolve("auto", flags, gpus) == expected


def test_an_explicit_precision_is_taken_as_it_is() -> None:
    assert precision.resolve("float32", BF16, ()) == "float32"
    assert precision.resolve("mixed_bfloat16", NO_BF16, ()) == "mixed_bfloat16"
    assert precision.resolve("mixed_float16", NO_BF16, ((7, 0),)) == "mixed_float16"


def test_float16_without_a_gpu_is_refused_in_one_line() -> None:
    with pytest.raises(ConfigError, match=r"train\.precision=mixed_float16 needs a GPU"):
        precision.resolve("mixed_float16", BF16, ())


def test_cpu_flags_are_read_from_cpuinfo(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu avx512f avx512_bf16\n\nprocessor\t: 1\n")
    assert precision.cpu_flags(cpuinfo) == {"fpu", "avx512f", "avx512_bf16"}
    assert precision.cpu_flags(tmp_path / "missing") == frozenset()


def test_a_bfloat16_cnn_computes_in_bfloat16_and_answers_in_float32() -> None:
    model = build_model(TechniqueConfig(name="baseline"), "mixed_bfloat16")
    assert model.count_params() == 93_322  # the same network
    assert [layer.compute_dtype for layer in model.layers[:-1]] == ["bfloat16"] * 7
    assert model.layers[-1].compute_dtype == "float32"
    assert all(w.dtype == "float32" for w in model.weights)  # variables stay float32
    probabilities = model.predict(np.zeros((2, 28, 28, 1), "float32"), verbose=0)
    assert probabilities.dtype == np.float32


@pytest.mark.slow
@pytest.mark.usefixtures("mnist_available")
def test_a_bfloat16_trials_logged_model_predicts_float32(
    compose_cfg: Compose, tmp_path: Path
) -> None:
    cfg = compose_cfg(
        "+technique=dropout",
        *tiny_overrides(tmp_path),
        "sweep.n_trials=1",
        "train.precision=mixed_bfloat16",
    )
    outcome = sweep(cfg)
    _, _, trials = tracked_runs(tmp_path)
    (trial,) = trials
    assert trial.data.params["train.precision"] == "mixed_bfloat16"
    assert trial.data.tags["precision"] == "mixed_bfloat16"
    assert outcome.best is not None
    # Loaded with plain Keras, as a user would, from the logged model's files.
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/mlruns/mlflow.db")
    loaded = mlflow.keras.load_model(trial.data.tags["model_uri"])
    images = np.random.default_rng(0).random((3, 28, 28, 1), dtype=np.float32)
    probabilities = np.asarray(loaded.predict(images, verbose=0))
    assert probabilities.dtype == np.float32
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-3)
    assert isinstance(loaded, keras.Model) and loaded.layers[-1].compute_dtype == "float32"
