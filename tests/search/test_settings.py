"""The settings a study was begun with, against those of a command that resumes it."""

from __future__ import annotations

import pytest

from tests.conftest import Compose


def test_a_setting_added_since_a_study_began_is_accepted_at_its_default(
    compose_cfg: Compose,
) -> None:
    """A study stored before ``train.deterministic`` existed resumes, unless it is changed."""
    from mnist_reg.errors import ConfigError
    from mnist_reg.search.settings import refuse_changed_settings, trial_settings

    cfg = compose_cfg("+technique=l2")
    stored = trial_settings(cfg)
    del stored["train.deterministic"]
    refuse_changed_settings("old-study", stored, cfg)
    changed = compose_cfg("+technique=l2", "train.deterministic=true")
    with pytest.raises(ConfigError, match=r"train.deterministic=True \(study: None\)"):
        refuse_changed_settings("old-study", stored, changed)
    stored["train.epochs"] = 3  # a stored setting that differs is still refused
    with pytest.raises(ConfigError, match=r"train.epochs=5 \(study: 3\)"):
        refuse_changed_settings("old-study", stored, cfg)


def test_a_changed_search_space_is_named_by_the_bounds_that_changed(
    compose_cfg: Compose,
) -> None:
    """Resuming with another search space names the bounds that differ, not both whole
    spaces (a 4,000-character line for ``combined``)."""
    from mnist_reg.errors import ConfigError
    from mnist_reg.search.settings import refuse_changed_settings, trial_settings

    stored = trial_settings(compose_cfg("+technique=combined"))
    changed = compose_cfg(
        "+technique=combined",
        "technique.search_space.patience.high=8",
        "technique.search_space.min_delta.high=0.0004",
    )
    with pytest.raises(ConfigError) as refusal:
        refuse_changed_settings("old-study", stored, changed)
    message = str(refusal.value)
    assert "technique.search_space.min_delta.high=0.0004 (study: 0.002)" in message
    assert "technique.search_space.patience.high=8" in message
    assert "rotation_degrees" not in message
    assert len(message) < 400
