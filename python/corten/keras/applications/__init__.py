"""keras.applications: VGG16, VGG19, ResNet50 and MobileNetV2 with tf.keras 2's architectures,
layer names and parameter counts, and their ``preprocess_input`` / ``decode_predictions``."""

from corten.keras.applications import (
    imagenet_utils,
    mobilenet_v2,
    resnet,
    vgg16,
    vgg19,
)
from corten.keras.applications.mobilenet_v2 import MobileNetV2
from corten.keras.applications.resnet import ResNet50
from corten.keras.applications.vgg16 import VGG16
from corten.keras.applications.vgg19 import VGG19

resnet50 = resnet

__all__ = ["VGG16", "VGG19", "ResNet50", "MobileNetV2", "imagenet_utils", "vgg16", "vgg19",
           "resnet", "resnet50", "mobilenet_v2"]
