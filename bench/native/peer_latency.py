"""The peer side of bench/native_latency.py, run by each peer's own interpreter:

    TF_USE_LEGACY_KERAS=1 tfkeras-python peer_latency.py tflite DIR   convert the saved cases
    ort-python peer_latency.py onnx DIR                                 write them as ONNX graphs
    litert-python peer_latency.py time litert FILE BATCH SAMPLES THREADS  time one case
    ort-python peer_latency.py time ort FILE BATCH SAMPLES THREADS

DIR holds what the driver wrote: ``<case>.npz`` with corten's weights (w0, w1, ...), a probe
batch ``x`` and corten's outputs ``y``. Every conversion checks its outputs against corten's
before it writes the file. Timing follows predict_latency.cpp: THREADS threads, random inputs,
0.2 s of warm-up, then SAMPLES blocks of about 20 ms; it prints the median microseconds per
call as JSON.
"""

from __future__ import annotations

import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "python", "corten", "bench", "peers"))
import native_models  # noqa: E402


def _check(name: str, got: np.ndarray, want: np.ndarray) -> None:
    err = float(np.max(np.abs(got.astype(np.float64) - want)))
    if err > 1e-4 * max(1.0, float(np.max(np.abs(want)))):
        raise SystemExit(f"{name}: outputs differ from corten's by {err}")
    print(f"{name}: max difference from corten {err:.2e}", file=sys.stderr)


def tflite(directory: str) -> None:
    import tensorflow as tf

    keras = tf.keras
    for name, (build, _, _) in native_models.CASES.items():
        data = np.load(os.path.join(directory, f"{name}.npz"))
        model = build(keras)
        model.set_weights([data[f"w{i}"] for i in range(len(model.weights))])
        _check(f"tf.keras {name}", model(data["x"], training=False).numpy(), data["y"])
        if name == "lstm_text":
            # At a fixed batch the converter fuses the LSTM into LiteRT's sequence-LSTM op
            # (a free batch leaves TensorList ops it cannot lower); the bench times batch 1.
            spec = tf.TensorSpec((1, *model.input_shape[1:]), model.inputs[0].dtype)
            fn = tf.function(lambda x, m=model: m(x, training=False)).get_concrete_function(spec)
            converter = tf.lite.TFLiteConverter.from_concrete_functions([fn], model)
        else:
            converter = tf.lite.TFLiteConverter.from_keras_model(model)
        with open(os.path.join(directory, f"{name}.tflite"), "wb") as f:
            f.write(converter.convert())


def _onnx_dense(helper, weights: list[np.ndarray], x: str = "x") -> tuple[list, list, str]:
    """Gemm (+ Relu but for the last) per pair of Dense weights; (nodes, initializers, output)."""
    nodes, init = [], []
    for k in range(0, len(weights), 2):
        w, b = f"dense{k}_w", f"dense{k}_b"
        init += [helper.make_tensor(w, 1, weights[k].shape, weights[k].ravel()),
                 helper.make_tensor(b, 1, weights[k + 1].shape, weights[k + 1].ravel())]
        y = f"dense{k}"
        nodes.append(helper.make_node("Gemm", [x, w, b], [y]))
        if k + 2 < len(weights):
            nodes.append(helper.make_node("Relu", [y], [y + "r"]))
            y += "r"
        x = y
    return nodes, init, x


def _onnx_resnet(helper, w: list[np.ndarray]) -> tuple[list, list, str]:
    # Keras's NHWC graph in ONNX's NCHW: the input is transposed once, kernels HWIO -> OIHW.
    nodes = [helper.make_node("Transpose", ["x"], ["t0"], perm=[0, 3, 1, 2])]
    init, k = [], 0

    def conv(x, out, pad, relu=True):
        nonlocal k
        kernel = np.ascontiguousarray(w[k].transpose(3, 2, 0, 1))
        names = (f"c{k}w", f"c{k}b")
        init.extend([helper.make_tensor(names[0], 1, kernel.shape, kernel.ravel()),
                     helper.make_tensor(names[1], 1, w[k + 1].shape, w[k + 1].ravel())])
        k += 2
        pads = [1, 1, 1, 1] if pad else [0, 0, 0, 0]
        nodes.append(helper.make_node("Conv", [x, *names], [out + "c"], pads=pads))
        nodes.append(helper.make_node("Relu", [out + "c"], [out]))
        return out

    x = conv(conv("t0", "a1", False), "a2", False)
    nodes.append(helper.make_node("MaxPool", [x], ["b1"], kernel_shape=[3, 3], strides=[3, 3]))
    x = conv(conv("b1", "a3", True), "a4", True)
    nodes.append(helper.make_node("Add", [x, "b1"], ["b2"]))
    x = conv(conv("b2", "a5", True), "a6", True)
    nodes.append(helper.make_node("Add", [x, "b2"], ["b3"]))
    x = conv("b3", "a7", False)
    nodes.append(helper.make_node("GlobalAveragePool", [x], ["g"]))
    nodes.append(helper.make_node("Flatten", ["g"], ["f"]))
    dense, dense_init, out = _onnx_dense(helper, w[k:], "f")
    return nodes + dense, init + dense_init, out


def onnx(directory: str) -> None:
    import onnx as onnx_lib
    import onnxruntime as ort
    from onnx import helper

    for name, (_, shape, _) in native_models.CASES.items():
        data = np.load(os.path.join(directory, f"{name}.npz"))
        weights = [data[f"w{i}"] for i in range(len([k for k in data if k.startswith("w")]))]
        if name.startswith("mlp"):
            nodes, init, out = _onnx_dense(helper, weights)
        elif name == "toy_resnet":
            nodes, init, out = _onnx_resnet(helper, weights)
        else:
            continue  # the LSTM text model: no exporter from Keras to ONNX in these venvs
        graph = helper.make_graph(
            nodes, name, [helper.make_tensor_value_info("x", 1, ["n", *shape])],
            [helper.make_tensor_value_info(out, 1, None)], init)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        path = os.path.join(directory, f"{name}.onnx")
        onnx_lib.save(model, path)
        session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        _check(f"onnxruntime {name}", session.run(None, {"x": data["x"]})[0], data["y"])


def _runner(runtime: str, path: str, x: np.ndarray, threads: int):
    if runtime == "litert":
        from ai_edge_litert.interpreter import Interpreter

        interp = Interpreter(model_path=path, num_threads=threads)
        index = interp.get_input_details()[0]["index"]
        interp.resize_tensor_input(index, x.shape)
        interp.allocate_tensors()
        out = interp.get_output_details()[0]["index"]

        def call():
            interp.set_tensor(index, x)
            interp.invoke()
            return interp.get_tensor(out)

        return call
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    feed = {session.get_inputs()[0].name: x}
    return lambda: session.run(None, feed)


def timed(runtime: str, path: str, batch: int, samples: int, threads: int) -> None:
    name = os.path.basename(path).rsplit(".", 1)[0]
    x = native_models.probe(np, name, batch)
    call = _runner(runtime, path, x, threads)
    start, calls = time.perf_counter(), 0
    while time.perf_counter() - start < 0.2 or calls < 10:
        call()
        calls += 1
    block = max(1, int(0.02 * calls / 0.2))
    per_call = []
    for _ in range(samples):
        t0 = time.perf_counter()
        for _ in range(block):
            call()
        per_call.append((time.perf_counter() - t0) / block * 1e6)
    print(json.dumps({"median_us": sorted(per_call)[len(per_call) // 2], "block": block,
                      "rounds_us": per_call}))


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "tflite":
        tflite(sys.argv[2])
    elif command == "onnx":
        onnx(sys.argv[2])
    else:
        timed(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]))
