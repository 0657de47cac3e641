"""The tags every run carries, in one place: the code that writes runs and the code that
reads them back (``compare``, search curves, benchmarks) use these names."""

from __future__ import annotations

RUN_TYPE = "run_type"
STUDY_NAME = "study_name"
TECHNIQUE = "technique"
BACKEND = "backend"
TRIAL_NUMBER = "trial_number"
TRIAL_STATE = "trial_state"
BEST_TRIAL = "best_trial"
REPEAT_SEED = "repeat_seed"
REPEAT_KEY = "repeat_key"
MODEL_URI = "model_uri"
ERROR = "error"
VERDICT = "verdict"
BASELINE = "baseline"
PRECISION = "precision"  # the Keras dtype policy a run trained in (train.precision resolved)
REPEAT_SOURCE = "repeat_source"  # "best" (a study's best trial) or "config" (as composed)
RUNG = "rung"  # successive halving: the rung a trial trains to
CONTINUES_TRIAL = "continues_trial"  # successive halving: the trial whose weights it continues
KT_ALGORITHM = "kt_algorithm"
KT_TRIAL_ID = "kt_trial_id"
KT_CONTINUES_TRIAL = "kt_continues_trial"  # Hyperband: the trial whose weights it continues

# A registered model version's tags (beside STUDY_NAME and TECHNIQUE)
SOURCE_RUN_ID = "source_run_id"  # the run whose model the version is
VAL_ACCURACY = "val_accuracy"
TEST_ACCURACY = "test_accuracy"

# A run's per-image test results: the predicted and the true class of each test image
TEST_PREDICTIONS = "test_predictions.npz"

# Values of RUN_TYPE
SWEEP = "sweep"  # a study's parent run
TRIAL = "trial"  # one trial, nested under its study's parent
REPEATS = "repeats"  # the parent of a repeated configuration's seeds (or the sweep's parent)
REPEAT = "repeat"  # one seed of a repeated configuration
COMPARISON = "comparison"  # what ``compare`` wrote
COMPARED_STUDY = "compared_study"  # one study's row of a comparison, nested under it

# Values of TRIAL_STATE, in Optuna's names (Keras Tuner's are mapped onto them)
COMPLETE = "COMPLETE"
PRUNED = "PRUNED"
FAIL = "FAIL"
INTERRUPTED = "INTERRUPTED"  # Keras Tuner: runs again on resume
PREEMPTED = "PREEMPTED"  # Optuna: stopped between epochs; resumes in this run (WAITING)
TRIAL_STATES = (COMPLETE, PRUNED, FAIL)


def study_tags(technique: str, study_name: str, backend: str | None = None) -> dict[str, str]:
    """The tags every trial or repeat run of a study carries (``backend`` for trials)."""
    tags = {TECHNIQUE: technique, STUDY_NAME: study_name}
    if backend is not None:
        tags[BACKEND] = backend
    return tags
