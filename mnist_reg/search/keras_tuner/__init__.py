"""The Keras Tuner backend: its oracles over the same search space, trials as tracked runs."""
