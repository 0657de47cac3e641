"""The registry's lines on the user's screen: MLflow's success lines go, anything else it
prints stays."""

from __future__ import annotations

import sys

import pytest

from mnist_reg.tracking import registry


def test_mlflows_success_lines_are_dropped_and_the_rest_kept(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with registry._without_registry_chatter():
        print("Successfully registered model 'mnist-cnn'.", file=sys.stderr)
        print("Created version '1' of model 'mnist-cnn'.", file=sys.stderr)
        print(
            "Registered model 'mnist-cnn' already exists. Creating a new version of this model...",
            file=sys.stderr,
        )
        print("a warning MLflow printed", file=sys.stderr)
        print("the command's own output")
    shown = capsys.readouterr()
    assert shown.err.splitlines() == ["a warning MLflow printed"]
    assert shown.out.splitlines() == ["the command's own output"]
