"""Image files into MNIST-style inputs, and the one-line errors for files that are not."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mnist_reg.data.images import ImageError, load_digit


def stroke(size: tuple[int, int], dark_on_light: bool) -> Image.Image:
    """A thick vertical bar (a "1") somewhere off-center in an image of any size."""
    width, height = size
    pixels = np.zeros((height, width), dtype=np.uint8)
    pixels[height // 5 : 4 * height // 5, width // 5 : width // 5 + max(2, width // 12)] = 255
    if dark_on_light:
        pixels = 255 - pixels
    return Image.fromarray(pixels)


@pytest.mark.parametrize("dark_on_light", [False, True])
@pytest.mark.parametrize(("size", "suffix"), [((28, 28), "png"), ((300, 420), "jpg")])
def test_any_size_either_polarity_becomes_a_centered_white_digit(
    tmp_path: Path, size: tuple[int, int], suffix: str, dark_on_light: bool
) -> None:
    path = tmp_path / f"digit.{suffix}"
    stroke(size, dark_on_light).convert("RGB").save(path)
    image = load_digit(path)
    assert image.shape == (28, 28, 1) and image.dtype == np.float32
    assert image.min() >= 0.0 and image.max() <= 1.0
    assert image[0].max() < 0.1 and image[:, 0].max() < 0.1  # black background
    rows, cols = np.nonzero(image[..., 0] > 0.3)
    assert rows.max() - rows.min() + 1 in (19, 20, 21)  # scaled into MNIST's 20-pixel box
    assert abs(np.mean(cols) - 14) < 2.5 and abs(np.mean(rows) - 14) < 2.5  # centered


def test_empty_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.png"
    path.touch()
    with pytest.raises(ImageError, match="empty"):
        load_digit(path)


def test_a_file_that_is_not_an_image_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("these are not pixels")
    with pytest.raises(ImageError, match="not an image"):
        load_digit(path)


def test_a_pickle_is_not_unpickled(tmp_path: Path) -> None:
    import pickle

    marker = tmp_path / "ran"
    path = tmp_path / "evil.png"
    path.write_bytes(pickle.dumps(Path.touch) + str(marker).encode())
    with pytest.raises(ImageError, match="not an image"):
        load_digit(path)
    assert not marker.exists()


def test_missing_and_blank_images_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="no such file"):
        load_digit(tmp_path / "nope.png")
    blank = tmp_path / "blank.png"
    Image.new("L", (50, 50), color=255).save(blank)
    with pytest.raises(ImageError, match="no digit"):
        load_digit(blank)
