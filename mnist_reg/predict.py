"""Entry point: ``python -m mnist_reg.predict index=2853`` or ``images=[a.png,b.jpg]``.

Loads a model from MLflow (default: the registered champion, ``models:/mnist-cnn@champion``)
and prints the digit and the top probabilities for a test image or image files.
"""

from __future__ import annotations

import sys

import hydra
import numpy as np
from omegaconf import DictConfig

from mnist_reg.cli import console
from mnist_reg.config.schema import DATASET_SIZES, PredictAppConfig, config_dir


def check(cfg: PredictAppConfig) -> None:
    if cfg.index is None and not cfg.images:
        sys.exit("error: nothing to classify; give index=N (a test image) or images=[FILE,...]")
    size = DATASET_SIZES[cfg.data.name][1] if cfg.data.name in DATASET_SIZES else None
    if cfg.index is not None and size is not None and not 0 <= cfg.index < size:
        sys.exit(f"error: index={cfg.index} is invalid; allowed: 0 to {size - 1}")
    if not 1 <= cfg.top <= 10:
        sys.exit(f"error: top={cfg.top} is invalid; allowed: 1 to 10")


def describe(probabilities: np.ndarray, top: int) -> str:
    order = np.argsort(probabilities)[::-1][:top]
    return ", ".join(f"{digit}: {100 * probabilities[digit]:.2f}%" for digit in order)


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="predict")
def main(dict_cfg: DictConfig) -> None:
    cfg: PredictAppConfig = dict_cfg  # type: ignore[assignment]
    check(cfg)
    from mnist_reg.data.images import ImageError, load_digit

    try:  # read every file before the (slow) model load: a bad file fails at once
        images = [(path, load_digit(path)) for path in cfg.images]
    except ImageError as error:
        sys.exit(f"error: {error}")
    from mnist_reg import process

    process.import_tensorflow()  # and the GPU probe: without their start-up chatter
    process.share_gpus()
    from mnist_reg.config.stores import tracking_uri
    from mnist_reg.data.sources import load_raw
    from mnist_reg.tracking.registry import ModelUnavailableError, load_keras_model, model_uri

    uri = model_uri(cfg.model, cfg.data.name)
    try:
        model = load_keras_model(uri, tracking_uri(cfg.mlflow))
    except ModelUnavailableError as error:
        sys.exit(f"error: cannot load model {uri}: {error} (has a sweep finished?)")
    if cfg.index is not None:
        raw = load_raw(cfg.data.name, cfg.data.cache_dir)
        image = raw.x_test[cfg.index].astype("float32")[..., None] / 255.0
        images.insert(0, (f"test image {cfg.index} (label {raw.y_test[cfg.index]})", image))
    batch = np.stack([image for _, image in images])
    probabilities = model.predict(batch, verbose=0)
    print(f"model {uri}")
    for (name, _), row in zip(images, probabilities, strict=True):
        print(f"{name}: digit {int(np.argmax(row))} ({describe(row, cfg.top)})")


run = console(main)  # the console script, mnist-reg-predict

if __name__ == "__main__":
    run()
