"""Configuration: the typed schema Hydra composes, its validation, the stores it names and the
checks run before anything heavy is imported. Imports no TensorFlow, Keras, Optuna or MLflow."""
