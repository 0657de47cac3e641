"""The repeat key: what tells one repeated configuration's runs from another's."""

from __future__ import annotations

from mnist_reg.repeats.plan import repeat_key
from tests.conftest import Compose

# A configuration's key as repeats stored it before train.precision existed (1feaa57):
# float32 repeats made then must still be found, and not trained again.
BEFORE_PRECISION = (
    [
        "+technique=baseline",
        "repeat.source=config",
        "repeat.vary_split=true",
        "train.epochs=2",
        "data.train_size=600",
        "train.deterministic=true",
    ],
    "3fd482d7658c",
)


def test_a_float32_key_is_the_key_stored_before_precision_existed(compose_cfg: Compose) -> None:
    overrides, stored_key = BEFORE_PRECISION
    assert repeat_key(compose_cfg(*overrides)) == stored_key
    assert repeat_key(compose_cfg(*overrides, "train.precision=float32")) == stored_key


def test_another_precision_is_another_configuration(compose_cfg: Compose) -> None:
    overrides, stored_key = BEFORE_PRECISION
    bfloat16 = repeat_key(compose_cfg(*overrides, "train.precision=mixed_bfloat16"))
    auto = repeat_key(compose_cfg(*overrides, "train.precision=auto"))
    assert len({stored_key, bfloat16, auto}) == 3


def test_the_seed_does_not_change_the_key(compose_cfg: Compose) -> None:
    overrides, _ = BEFORE_PRECISION
    assert repeat_key(compose_cfg(*overrides, "train.seed=7")) == repeat_key(
        compose_cfg(*overrides)
    )
