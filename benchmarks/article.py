"""The tutorial's script as a whole command, the reference ``command_speed.py`` times the
sweep against: its model, ``compile``, ``fit`` (5 epochs, batch 32, all 60,000 training
images) and ``evaluate``, as the tutorial writes them, on the project's checked copy of
MNIST (the tutorial's ``mnist.load_data`` downloads it; this machine has no internet).

    python benchmarks/article.py     # prints the test accuracy and the seconds of each step
"""

from __future__ import annotations

import time

START = time.perf_counter()

import keras  # noqa: E402  (timed: a command pays its imports)
from keras import layers  # noqa: E402

from mnist_reg.data.sources import load_raw  # noqa: E402


def main() -> None:
    imported = time.perf_counter()
    raw = load_raw("mnist", "~/.cache/mnist_reg")
    x_train = raw.x_train.reshape(raw.x_train.shape[0], 28, 28, 1).astype("float32") / 255
    x_test = raw.x_test.reshape(raw.x_test.shape[0], 28, 28, 1).astype("float32") / 255
    model = keras.Sequential()
    model.add(keras.Input((28, 28, 1)))
    model.add(layers.Conv2D(32, (3, 3), activation="relu"))
    model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Conv2D(64, (3, 3), activation="relu"))
    model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Conv2D(64, (3, 3), activation="relu"))
    model.add(layers.Flatten())
    model.add(layers.Dense(64, activation="relu"))
    model.add(layers.Dense(10, activation="softmax"))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    fit_start = time.perf_counter()
    model.fit(x_train, raw.y_train, epochs=5, verbose=2)
    fit_end = time.perf_counter()
    _, test_accuracy = model.evaluate(x_test, raw.y_test, verbose=0)
    end = time.perf_counter()
    print(
        f"test_accuracy {test_accuracy:.4f}; seconds: imports {imported - START:.1f}, "
        f"fit {fit_end - fit_start:.1f}, all {end - START:.1f}"
    )


if __name__ == "__main__":
    main()
