"""Seed repeats: retrain one configuration with fresh seeds, each a tracked run.

A study's best trial won partly by luck (its seed, its split of the noise). Retraining its
configuration with seeds the search never used measures what the configuration is worth;
``compare`` turns the repeats into intervals and tests. With ``repeat.source=config`` the
composed configuration itself is repeated (the article's fixed models, data-scarcity runs).
Each repeat runs the same tracked training step as a sweep trial.

- :mod:`.plan`: what to repeat, under which parent run, with which seeds;
- :mod:`.runner`: the seeds not yet finished, trained;
- :mod:`.outcome`: the table of finished repeats, printed with its interval.

The command is ``python -m mnist_reg.repeat``; the runs are written by
``tracking.repeat_runs``.
"""
