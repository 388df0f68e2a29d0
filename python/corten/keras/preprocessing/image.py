"""keras.preprocessing.image (the Keras 2 module): image files in and out and smart_resize."""

from corten.keras.utils.image_utils import (
    array_to_img,
    img_to_array,
    load_img,
    save_img,
    smart_resize,
)

__all__ = ["array_to_img", "img_to_array", "load_img", "save_img", "smart_resize"]
