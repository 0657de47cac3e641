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


def test_a_constant_rate_key_is_the_key_stored_before_schedules_existed(
    compose_cfg: Compose,
) -> None:
    """Schedules, weight decay and label smoothing came after these keys were stored: at the
    values every earlier run trained with, they leave the key as it was."""
    overrides, stored_key = BEFORE_PRECISION
    assert repeat_key(compose_cfg(*overrides, "train.schedule_epochs=27")) == stored_key
    assert repeat_key(compose_cfg(*overrides, "train.warmup_epochs=2")) == stored_key


def test_a_schedule_and_what_it_reads_change_the_key(compose_cfg: Compose) -> None:
    overrides, stored_key = BEFORE_PRECISION
    cosine_overrides = [*overrides, "train.lr_schedule=cosine"]
    cosine = repeat_key(compose_cfg(*cosine_overrides))
    warmed = repeat_key(compose_cfg(*cosine_overrides, "train.warmup_epochs=2"))
    ignored = repeat_key(compose_cfg(*cosine_overrides, "train.decay_rate=0.5"))  # unread
    smoothed = repeat_key(compose_cfg(*overrides, "technique.label_smoothing.amount=0.1"))
    assert len({stored_key, cosine, warmed, smoothed}) == 4
    assert ignored == cosine
    spelled_out = repeat_key(compose_cfg(*cosine_overrides, "train.schedule_epochs=2"))
    assert spelled_out == cosine  # null spans train.epochs (2): the same training
