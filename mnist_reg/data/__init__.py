"""Data: where MNIST comes from (checked sources), the train/validation/test splits, and image
files turned into what the CNN reads."""
