"""Native inference latency: a saved model's predict from C++ (corten::Model, through the
installed library), beside LiteRT and ONNX Runtime on the same models and weights.

    python bench/native_latency.py --peer tfkeras=PY --peer litert=PY --peer ort=PY \\
        [--rounds 7] [--threads 1,2] [--out bench/results/native-DATE]

corten builds each case of python/corten/bench/peers/native_models.py, saves it, and writes its
weights, a probe batch and its outputs; tf.keras (the ``tfkeras`` interpreter, with tf-keras)
rebuilds the model from the same code with those weights and converts it for LiteRT; the
``ort`` interpreter writes the same graph in ONNX (not the LSTM, which has no exporter there).
Every conversion checks its outputs against corten's first. Each library then runs in a
process of its own at each thread count (set through its own API), alternated round by round
(corten, LiteRT, ONNX Runtime, corten, ...); a process warms up for 0.2 s and times 5 blocks of
about 20 ms. A library's figure at a thread count is the median over rounds of its per-process
median, and the table gives each library's best thread count beside the 1-thread figure.
LiteRT and ONNX Runtime are timed from Python (set_tensor, invoke, get_tensor; session.run),
as their Python users call them; corten from C++ (bench/native/predict_latency.cpp), as an
embedding application calls it. The corten rows also give the sum of the graph's op times at
one thread (each op's entry point and kernels, Model::profile), so the runner's own overhead
shows.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
BATCHES = {"mlp_32_64_64_10": (1, 64), "mlp_784_64_64_10": (1, 64), "mlp_784_128_10": (1, 64),
           "toy_resnet": (1,), "lstm_text": (1,)}


def build_program(work: str) -> str:
    import corten

    build = os.path.join(work, "build")
    subprocess.run(["cmake", "-S", os.path.join(HERE, "native"), "-B", build,
                    f"-Dcorten_DIR={corten.get_cmake_dir()}", "-DCMAKE_BUILD_TYPE=Release"],
                   check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "--build", build], check=True, stdout=subprocess.DEVNULL)
    return os.path.join(build, "predict_latency")


def save_cases(work: str) -> None:
    import corten
    from corten import keras
    from corten.bench.peers import native_models

    for name, (build, _, _) in native_models.CASES.items():
        corten.random.set_seed(0)
        model = build(keras)
        model.save(os.path.join(work, f"{name}.keras"))
        x = native_models.probe(np, name, 4)
        y = model(x, training=False).numpy()
        np.savez(os.path.join(work, f"{name}.npz"), x=x, y=y,
                 **{f"w{i}": w for i, w in enumerate(model.get_weights())})


def run_json(argv: list[str]) -> dict:
    out = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer", action="append", default=[],
                        help="tfkeras=PY, litert=PY or ort=PY: a peer's interpreter")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--threads", default="1,2", help="thread counts, comma-separated")
    parser.add_argument("--out", help="write OUT.txt and OUT.json")
    args = parser.parse_args()
    peers = dict(p.split("=", 1) for p in args.peer)
    thread_counts = [int(t) for t in args.threads.split(",")]
    work = tempfile.mkdtemp(prefix="corten-native-bench-")
    program = build_program(work)
    save_cases(work)
    script = os.path.join(HERE, "native", "peer_latency.py")
    runtimes: dict[str, list[str]] = {}
    if "tfkeras" in peers and "litert" in peers:
        subprocess.run([peers["tfkeras"], script, "tflite", work], check=True,
                       env={**os.environ, "TF_USE_LEGACY_KERAS": "1"})
        runtimes["LiteRT"] = [peers["litert"], script, "time", "litert"]
    if "ort" in peers:
        subprocess.run([peers["ort"], script, "onnx", work], check=True)
        runtimes["ONNX Runtime"] = [peers["ort"], script, "time", "ort"]
    suffix = {"LiteRT": "tflite", "ONNX Runtime": "onnx"}
    rows = []
    for name, batches in BATCHES.items():
        for batch in batches:
            model = os.path.join(work, f"{name}.keras")
            samples: dict[str, list[float]] = {}
            for _ in range(args.rounds):
                for threads in thread_counts:
                    samples.setdefault(f"corten@{threads}", []).append(run_json(
                        [program, model, str(batch), str(threads), "5"])["median_us"])
                    for lib, argv in runtimes.items():
                        path = os.path.join(work, f"{name}.{suffix[lib]}")
                        if os.path.exists(path):
                            samples.setdefault(f"{lib}@{threads}", []).append(run_json(
                                [*argv, path, str(batch), "5", str(threads)])["median_us"])
            medians = {key: statistics.median(v) for key, v in samples.items()}
            best = {}
            for lib in ["corten", *runtimes]:
                mine = {k: v for k, v in medians.items() if k.split("@")[0] == lib}
                if mine:
                    key = min(mine, key=mine.get)
                    best[lib] = {"median_us": mine[key], "threads": int(key.split("@")[1]),
                                 "one_thread_us": mine.get(f"{lib}@1")}
            profile = run_json([program, model, str(batch), "1", "5", "--profile"])
            row = {"case": name, "batch": batch, "best": best, "medians_us": medians,
                   "rounds_us": samples, "corten_ops_sum_us": profile["ops_sum_us"],
                   "corten_ops_us": profile["ops_us"]}
            rows.append(row)
            print(json.dumps({k: row[k] for k in ("case", "batch", "best",
                                                   "corten_ops_sum_us")}), flush=True)
    libs = ["corten", *runtimes]
    lines = [f"Native inference latency, median of {args.rounds} alternated rounds, us per "
             f"predict at each library's best thread count of {args.threads} (in brackets; "
             f"its 1-thread figure after the slash) ({datetime.date.today()})", "",
             f"{'case':<20}{'batch':>6}" + "".join(f"{lib:>24}" for lib in libs) +
             f"{'corten ops sum (1t)':>22}"]
    for row in rows:
        cells = ""
        for lib in libs:
            b = row["best"].get(lib)
            cells += (f"{b['median_us']:>10.2f} ({b['threads']}t) / {b['one_thread_us']:>7.2f}"
                      if b else f"{'-':>24}")
        lines.append(f"{row['case']:<20}{row['batch']:>6}{cells}"
                     f"{row['corten_ops_sum_us']:>22.2f}")
    text = "\n".join(lines)
    print(text)
    if args.out:
        with open(args.out + ".txt", "w") as f:
            f.write(text + "\n")
        with open(args.out + ".json", "w") as f:
            json.dump({"rows": rows, "peers": peers, "rounds": args.rounds,
                       "threads": thread_counts}, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
