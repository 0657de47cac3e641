"""Training: the CNN, augmentation, ``fit``, and the one tracked training step that sweep
trials (both backends) and seed repeats share. Modules import TensorFlow only where they
train; ``memory`` and ``progress`` stay light."""
