"""Everything that talks to MLflow lives in this package; nothing else imports mlflow.

- :mod:`.runs`: the runs a sweep writes (parent, trials, their metrics and artifacts).
- :mod:`.repeats`: the runs of seed repeats.
- :mod:`.registry`: the Model Registry (each study's best model, the champion alias).
- :mod:`.queries`: reading runs back into pandas for ``compare``, and its report run.
- :mod:`.uri`: which tracking store (light: no MLflow import).
"""
