"""Everything that talks to MLflow lives in this package; nothing else imports mlflow, and
nothing here imports Optuna, Keras or TensorFlow: it records what it is handed.

- :mod:`.store`: the one place the tracking URI is handed to MLflow.
- :mod:`.tags`: the run tags and their values, which ``compare`` and the benchmarks read back.
- :mod:`.runs`: the runs a sweep writes (parent, trials, their metrics and artifacts).
- :mod:`.lifecycle`: how a run ends (FINISHED, FAILED with its error, KILLED).
- :mod:`.summary`: a study's closing summary on its parent run, and its best trial.
- :mod:`.repeat_runs`: the runs of seed repeats.
- :mod:`.registry`: the Model Registry (each study's best model, the champion alias).
- :mod:`.queries`: reading runs back into pandas for ``compare``, and its report run.
"""
