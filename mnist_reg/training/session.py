"""Each trial or repeat of a long-running process starts from a fresh Keras session
(:func:`fresh_session`): the previous model's graphs and layers dropped and their memory
given back."""

from __future__ import annotations

from mnist_reg import process


def fresh_session() -> None:
    """Before each trial or repeat of a long-running process: drop the previous model's
    graph and layers and collect them.

    ``clear_session`` alone leaves every earlier trial's traced training graph alive:
    TensorFlow registers a gradient for each ``tf.custom_gradient`` op it traces, under a
    unique ``CustomGradient-<uid>`` name, in a process-wide registry it never prunes, and
    each entry's closure holds its graph. Those graphs are never traced again, so their
    entries go too. glibc then returns the freed pages to the system (:func:`trim`), which
    keeps the resident size flat (benchmarks/results/trial_memory.md).

    ``clear_session`` collects garbage itself, so the registry is pruned first and no second
    collection follows (each walks about half a million objects once TensorFlow and MLflow
    are imported).
    """
    import keras  # here, not at the top: the arena cap must come before TensorFlow

    _forget_custom_gradients()
    keras.backend.clear_session(free_memory=True)  # collects garbage
    process.trim()


def _forget_custom_gradients() -> None:
    # A private registry: if a TensorFlow release moves it, this does nothing, and the
    # test of fresh_session (tests/training/test_session.py) says so.
    from tensorflow.python.framework import ops as tf_ops

    registry = getattr(getattr(tf_ops, "_gradient_registry", None), "_registry", None)
    if isinstance(registry, dict):
        for name in [k for k in registry if str(k).startswith("CustomGradient-")]:
            del registry[name]
