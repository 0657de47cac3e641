"""Optuna's own plots of a study, drawn with matplotlib for the parent run."""

from __future__ import annotations

import warnings
from typing import Any

import optuna


def study_figures(study: optuna.Study) -> dict[str, Any]:
    """Optuna's optimization history, and where the space allows, importances and coordinates."""
    from optuna.visualization import matplotlib as optuna_plots

    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    params = {name for trial in complete for name in trial.params}
    figures: dict[str, Any] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        warnings.simplefilter("ignore", UserWarning)  # axis limits of a single-valued param
        if complete:
            figures["optimization_history.png"] = optuna_plots.plot_optimization_history(
                study
            ).figure
        if params:
            figures["parallel_coordinate.png"] = optuna_plots.plot_parallel_coordinate(
                study
            ).figure
        if len(params) >= 2 and len(complete) >= 2:
            figures["param_importances.png"] = optuna_plots.plot_param_importances(study).figure
    for figure in figures.values():
        figure.set_size_inches(10, 6)
        figure.tight_layout()
    return figures
