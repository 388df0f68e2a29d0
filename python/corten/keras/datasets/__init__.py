"""corten.keras.datasets: the Keras datasets (downloaded into the Keras cache) and a small
MNIST subset bundled with corten (``mnist_small``) for offline use."""

from corten.keras.datasets import cifar10, fashion_mnist, mnist, mnist_small

__all__ = ["cifar10", "fashion_mnist", "mnist", "mnist_small"]
