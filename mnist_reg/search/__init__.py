"""Search: one entry (``dispatch.run``) over two sibling backends, ``optuna`` and
``keras_tuner``, which share the outcome, search-space and settings-drift code here and
never import each other."""
