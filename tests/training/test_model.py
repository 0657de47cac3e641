"""The CNN's architecture, and regularization that really acts."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from mnist_reg.config.technique import DropoutConfig, L2Config, TechniqueConfig
from mnist_reg.training.model import build_model


def test_baseline_is_the_articles_cnn_with_93322_parameters() -> None:
    model = build_model(TechniqueConfig(name="baseline"))
    assert model.count_params() == 93_322
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == [
        "Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D", "Conv2D",
        "Flatten", "Dense", "Dense",
    ]  # fmt: skip
    assert model.output_shape == (None, 10)
    assert not model.losses  # no regularization at all


def test_dropout_sits_before_dense64_and_optionally_after() -> None:
    technique = TechniqueConfig(
        name="dropout", dropout=DropoutConfig(rate=0.3, second=True, second_rate=0.1)
    )
    model = build_model(technique)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds[5:] == ["Flatten", "Dropout", "Dense", "Dropout", "Dense"]
    assert [layer.rate for layer in model.layers if isinstance(layer, keras.layers.Dropout)] == [
        0.3,
        0.1,
    ]
    assert model.count_params() == 93_322


@pytest.mark.parametrize(("on_conv", "penalized"), [(False, 2), (True, 5)])
def test_l2_penalizes_dense_kernels_and_optionally_conv(on_conv: bool, penalized: int) -> None:
    model = build_model(TechniqueConfig(name="l2", l2=L2Config(weight=1e-3, on_conv=on_conv)))
    model(np.zeros((1, 28, 28, 1), dtype=np.float32))
    assert len(model.losses) == penalized
    assert all(float(loss) > 0 for loss in model.losses)
