"""Regenerates directory_golden.npz and text_golden.json: tf.keras 2's
image_dataset_from_directory and text_dataset_from_directory on the trees of dir_trees.py (file
order, class names, labels, decoded and resized images, file contents).

    cd tests/python/keras/utils/golden
    python make_directory_golden.py [/path/to/python-with-tf_keras]

Run with a Python that has Pillow (it writes the image files); the second interpreter (default
/work/peers/tfkeras/bin/python or $CORTEN_TFKERAS_PYTHON) needs TensorFlow and tf_keras 2.x.
"""

import json
import sys
import tempfile
from pathlib import Path

here = Path(__file__).resolve().parent
sys.path.insert(0, str(here.parent))

import dir_trees  # noqa: E402

if __name__ == "__main__":
    python = sys.argv[1] if len(sys.argv) > 1 else dir_trees.TFKERAS
    with tempfile.TemporaryDirectory() as tmp:
        roots = {"full": Path(tmp) / "full", "png": Path(tmp) / "png"}
        dir_trees.build_image_tree(roots["full"])
        dir_trees.build_image_tree(roots["png"], only_png=True)
        dir_trees.run_tfkeras(roots, here / "directory_golden.npz", python=python)
        dir_trees.build_text_tree(Path(tmp) / "text")
        texts = dir_trees.run_tfkeras_text(Path(tmp) / "text", python=python)
    (here / "text_golden.json").write_text(json.dumps(texts, indent=1, sort_keys=True) + "\n")
    print("wrote", here / "directory_golden.npz", "and", here / "text_golden.json")
