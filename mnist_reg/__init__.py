"""mnist-reg: which regularization helps the TensorFlow-tutorial CNN on MNIST, and how surely."""

__version__ = "0.1.0"
