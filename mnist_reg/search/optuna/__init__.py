"""The Optuna backend: a persistent study, its sampler and pruner, the objective, workers."""
