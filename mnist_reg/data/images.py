"""Image files turned into what the CNN reads: 28x28 grayscale, white digit on black, the
digit scaled into a 20x20 box and centered by its center of mass, as MNIST's were.

Only Pillow decodes the file; nothing from user input is unpickled or evaluated.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

INK = 0.25  # intensity above which a pixel counts as part of the digit


class ImageError(ValueError):
    """The file cannot be read as a digit image; the message says why, in one line."""


def read_grayscale(path: Path) -> np.ndarray:
    """The image as floats in [0, 1], or :class:`ImageError`."""
    if not path.is_file():
        raise ImageError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise ImageError(f"{path}: the file is empty")
    try:
        with Image.open(path) as image:
            image.load()
            gray = ImageOps.exif_transpose(image).convert("L")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ImageError(f"{path}: not an image (PNG or JPEG expected): {reason}") from None
    return np.asarray(gray, dtype=np.float32) / 255.0


def to_mnist(gray: np.ndarray, name: str = "image") -> np.ndarray:
    """(28, 28, 1) float32: inverted when the digit is dark on a light background."""
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    if border.mean() > 0.5:
        gray = 1.0 - gray
    ink = gray > INK * max(float(gray.max()), 1e-6)
    if float(gray.max()) < 0.1 or not ink.any():
        raise ImageError(f"{name}: no digit found (the image is blank)")
    rows, cols = np.nonzero(ink)
    crop = gray[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    height, width = crop.shape
    scale = 20.0 / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = Image.fromarray(np.uint8(np.clip(crop, 0, 1) * 255)).resize(
        size, Image.Resampling.LANCZOS
    )
    digit = np.asarray(small, dtype=np.float32) / 255.0
    canvas = np.zeros((28, 28), dtype=np.float32)
    total = float(digit.sum()) or 1.0
    center_y = float((digit.sum(axis=1) * np.arange(digit.shape[0])).sum()) / total
    center_x = float((digit.sum(axis=0) * np.arange(digit.shape[1])).sum()) / total
    top = int(np.clip(round(14 - center_y), 0, 28 - digit.shape[0]))
    left = int(np.clip(round(14 - center_x), 0, 28 - digit.shape[1]))
    canvas[top : top + digit.shape[0], left : left + digit.shape[1]] = digit
    return canvas[..., None]


def load_digit(path: str | Path) -> np.ndarray:
    path = Path(path).expanduser()
    return to_mnist(read_grayscale(path), str(path))
