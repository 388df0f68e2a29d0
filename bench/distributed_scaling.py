"""Data-parallel scaling: N ranks of one thread each against one rank of one thread, on the
seeds' MLP and VAE at a global batch of 128; corten (MultiWorkerMirroredStrategy over MPI)
beside PyTorch (DistributedDataParallel over gloo), each in processes of its own.

    python bench/distributed_scaling.py --peer torch=PY [--rounds 3] [--epochs 5] \\
        [--ranks 1,2] [--bytes-per-pack N] [--no-overlap] [--out bench/results/NAME]

The parent runs every (model, library, ranks) configuration once per round, alternated
(corten 1 rank, corten N ranks, PyTorch 1 process, PyTorch N processes, per model) with the
others idle. corten's single rank is a plain ``python`` process; its N ranks are
``mpirun -np N`` (the MPICH next to this interpreter), each rank running the same script, the
model built and compiled inside ``strategy.scope()`` and ``fit`` given the global batch, as a
user's script is. PyTorch's single process trains the module directly; its N processes are
started with ``torch.multiprocessing.spawn`` and wrap the module in DistributedDataParallel
(gloo, TCP on 127.0.0.1), each rank taking its rows of every shuffled global batch (64 of 128,
as corten splits it). Every rank sets one thread through its library's API
(``corten.config.threading``, ``torch.set_num_threads``); no environment variable is set.

The data are 60,000 x 784 float32 in [0, 1) with labels in [0, 10) (MNIST's shape; seeded, the
same in every process). One worker run trains a warm-up epoch, then ``--epochs`` epochs timed
one by one (a Keras callback on rank 0 for corten; the loop's own clock on rank 0 for
PyTorch); its figure is samples per second over the median epoch. A configuration's figure is
the median over the rounds; efficiency = samples/s at N ranks / (N x samples/s at 1 rank).

The corten worker takes ``--bytes-per-pack N`` and ``--no-overlap``, handed to the strategy as
``corten.distribute.experimental.CommunicationOptions(bytes_per_pack=N, overlap=False)`` where
that API exists; the report says which settings were used. A worker also runs by hand under
any launcher, e.g. four ranks over the shaped links of bench/distributed/netns_cluster.sh:

    bench/distributed/netns_cluster.sh up
    PYTHONPATH=python bench/distributed/netns_cluster.sh run \\
        python3 bench/distributed_scaling.py --worker corten --model mlp

Before each run the parent waits for the machine to go idle, and runs again a run during which
other processes used more than --max-others CPUs (two ranks on two cores share them with
anything else that runs).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
PEERS = os.path.join(HERE, "..", "python", "corten", "bench", "peers")
SAMPLES = 60000
FEATURES = 784
GLOBAL_BATCH = 128
MODELS = {"mlp": "MLP 784-64-64-10 RMSprop", "vae": "VAE 784-64-32 Adam"}


def synthetic(np: Any, samples: int) -> tuple[Any, Any]:
    """MNIST-shaped data, the same in every process: x in [0, 1), labels in [0, 10)."""
    rng = np.random.default_rng(0)
    x = rng.random((samples, FEATURES), dtype=np.float32)
    return x, rng.integers(0, 10, samples).astype(np.int64)


def emit(record: dict[str, Any]) -> None:
    print(json.dumps(record), flush=True)


# ----------------------------------------------------------------------------- corten worker

def communication_options(tf: Any, args: argparse.Namespace) -> tuple[Any, dict[str, Any]]:
    """The strategy's communication_options for --bytes-per-pack / --no-overlap, and what was
    used: the options go to the strategy only when corten.distribute.experimental has them."""
    asked: dict[str, Any] = {}
    if args.bytes_per_pack is not None:
        asked["bytes_per_pack"] = args.bytes_per_pack
    if args.no_overlap:
        asked["overlap"] = False
    experimental = getattr(tf.distribute, "experimental", None)
    make = getattr(experimental, "CommunicationOptions", None)
    if make is None:
        return None, {"api": False, "asked": asked,
                      "used": "library defaults (corten.distribute.experimental."
                              "CommunicationOptions does not exist; options ignored)"}

    def described(options: Any) -> dict[str, Any]:
        return {k: getattr(getattr(options, k), "value", getattr(options, k))
                for k in ("bytes_per_pack", "overlap", "implementation", "timeout_seconds")
                if hasattr(options, k)}

    if not asked:  # the strategy gets no options; the report shows what that means
        return None, {"api": True, "asked": {}, "used": {"defaults": True, **described(make())}}
    ignored = {}
    while True:
        try:
            options = make(**asked)
            break
        except TypeError:
            if "overlap" not in asked:
                raise
            ignored["overlap"] = asked.pop("overlap")  # the corten extension is not there
    return options, {"api": True, "asked": {**asked, **ignored}, "used": described(options),
                     "ignored": ignored}


def corten_worker(args: argparse.Namespace) -> None:
    import corten as tf
    import numpy as np
    from corten.bench.peers import keras_models

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.keras.utils.set_random_seed(0)
    options, settings = communication_options(tf, args)
    strategy = tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    x, y = synthetic(np, args.samples)
    with strategy.scope():
        if args.model == "mlp":
            model = keras_models.compiled_mlp(tf.keras)
        else:
            model = keras_models.compiled_vae(tf.keras, keras_models.tf_math(tf, tf.keras))

    class EpochTimer(tf.keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.seconds: list[float] = []

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self.start)
            if epoch + 1 == args.warmup_epochs:
                self.after_warmup = stats()

    def stats() -> dict[str, float]:
        return tf.distribute.experimental.communication_stats() \
            if strategy.num_replicas_in_sync > 1 else {}

    timer = EpochTimer()
    history = model.fit(x, y if args.model == "mlp" else x, batch_size=args.batch,
                        epochs=args.warmup_epochs + args.epochs, verbose=0, callbacks=[timer])
    communicated = stats()
    steps = args.epochs * -(-args.samples // args.batch)
    per_step = {k: (v - getattr(timer, "after_warmup", {}).get(k, 0)) / steps
                for k, v in communicated.items()}
    if strategy.rank == 0:
        emit(result("corten", tf.__version__, strategy.num_replicas_in_sync, args,
                    timer.seconds, history.history["loss"],
                    {"communication": settings, "per_step": per_step,
                     "mpi_library": tf.distribute.mpi_library()
                     if strategy.num_replicas_in_sync > 1 else None,
                     "kernel_isa": tf.config.get_cpu_isa()}))


def result(library: str, version: str, ranks: int, args: argparse.Namespace,
           seconds: list[float], losses: list[float], extra: dict[str, Any]) -> dict[str, Any]:
    timed = seconds[args.warmup_epochs:]
    return {"library": library, "version": version, "model": args.model, "ranks": ranks,
            "threads_per_rank": args.threads, "samples": args.samples, "global_batch": args.batch,
            "epoch_seconds": seconds, "samples_per_s": args.samples / statistics.median(timed),
            "loss": [float(v) for v in losses], **extra}


# ------------------------------------------------------------------------------ torch worker

def torch_rank(rank: int, world: int, port: int, args: argparse.Namespace, queue: Any) -> None:
    """One PyTorch rank: the torch peer's modules and optimizers (Keras's defaults), each
    rank training on its rows of every shuffled global batch."""
    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    sys.path.insert(0, PEERS)
    import torch_peer  # the bench's PyTorch twins of the seeds' models

    if world > 1:
        import torch.distributed as dist

        dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                                world_size=world)
    torch.manual_seed(0)
    if args.model == "mlp":
        module = torch_peer.mlp(torch)
        opt = torch.optim.RMSprop(module.parameters(), lr=1e-3, alpha=0.9, eps=1e-7)
        cross_entropy = torch.nn.CrossEntropyLoss()
    else:
        module = torch_peer.vae(torch)
        opt = torch.optim.Adam(module.parameters(), lr=1e-3, eps=1e-7)
    # DistributedDataParallel starts every rank from rank 0's parameters.
    model = torch.nn.parallel.DistributedDataParallel(module) if world > 1 else module
    xs, ys = synthetic(np, args.samples)
    tx, ty = torch.from_numpy(xs), torch.from_numpy(ys)
    shuffle = torch.Generator().manual_seed(1)  # the same permutations on every rank
    n, batch = len(tx), args.batch
    seconds, losses = [], []
    for _ in range(args.warmup_epochs + args.epochs):
        start = time.perf_counter()
        perm = torch.randperm(n, generator=shuffle)
        total = torch.zeros(())
        correct = torch.zeros((), dtype=torch.int64)
        for i in range(0, n, batch):
            idx = perm[i:i + batch]
            rows = len(idx)
            idx = idx[rank * rows // world:(rank + 1) * rows // world]
            xb = tx[idx]
            opt.zero_grad()
            if args.model == "mlp":
                yb = ty[idx]
                logits = model(xb)
                loss = cross_entropy(logits, yb)
            else:
                recon, kl = model(xb)
                loss = torch.mean((recon - xb) ** 2) + kl
            loss.backward()
            opt.step()
            with torch.no_grad():  # the running loss (and accuracy), as fit() keeps them
                total += loss.detach()
                if args.model == "mlp":
                    correct += (logits.argmax(-1) == yb).sum()
        losses.append(float(total) / ((n + batch - 1) // batch))
        seconds.append(time.perf_counter() - start)
    if rank == 0:
        record = result("torch", torch.__version__, world, args, seconds, losses,
                        {"backend": "gloo (DistributedDataParallel)" if world > 1 else None})
        if queue is None:
            emit(record)
        else:
            queue.put(record)
    if world > 1:
        dist.destroy_process_group()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def torch_worker(args: argparse.Namespace) -> None:
    if args.ranks == 1:
        torch_rank(0, 1, 0, args, None)
        return
    import torch.multiprocessing as mp

    queue = mp.get_context("spawn").SimpleQueue()
    mp.spawn(torch_rank, args=(args.ranks, free_port(), args, queue), nprocs=args.ranks)
    emit(queue.get())


# ------------------------------------------------------------------------------------ parent

def cpu_seconds() -> tuple[float, float]:
    """The CPU time the whole machine has spent busy since boot, and the time the hypervisor
    gave this machine's CPUs to others (steal), from /proc/stat's first line."""
    with open("/proc/stat") as f:
        user, nice, system, idle, iowait, irq, softirq, steal = (
            int(v) for v in f.readline().split()[1:9])
    tick = os.sysconf("SC_CLK_TCK")
    return (user + nice + system + irq + softirq) / tick, steal / tick


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wait_for_quiet(limit: float, cores: float = 0.1, window: float = 1.0) -> float:
    """Waits (at most `limit` seconds) until the machine spends less than `cores` CPUs busy
    over a `window`; returns the seconds waited."""
    start = time.perf_counter()
    while True:
        busy = cpu_seconds()[0]
        time.sleep(window)
        if (cpu_seconds()[0] - busy) / window < cores or time.perf_counter() - start > limit:
            return time.perf_counter() - start


def run_worker(argv: list[str], timeout: float) -> dict[str, Any]:
    """One worker run (in a session of its own, killed whole if it times out or the bench is
    stopped); its record gets the run's wall time and the CPU time the rest of the machine used
    meanwhile (busy time less the run's own processes'), to spot runs that shared the cores."""
    (busy, steal), ours, start = cpu_seconds(), children_cpu_seconds(), time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    wall = time.perf_counter() - start
    busy_after, steal_after = cpu_seconds()
    foreign = (busy_after - busy) - (children_cpu_seconds() - ours)
    for line in reversed(stdout.strip().splitlines()):
        if line.startswith("{"):
            return {**json.loads(line), "wall_s": wall, "others_cpu_s": max(foreign, 0.0),
                    "steal_s": steal_after - steal}
    raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode} without a result:\n"
                       f"{stdout[-2000:]}\n{stderr[-4000:]}")


def mpirun_path(given: str | None) -> str:
    if given:
        return given
    beside = os.path.join(os.path.dirname(sys.executable), "mpirun")
    found = beside if os.path.exists(beside) else shutil.which("mpirun")
    if not found:
        raise SystemExit("no mpirun next to this interpreter or on PATH: pip install mpich, "
                         "or pass --mpirun")
    return found


def commit() -> str:
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, check=True, cwd=HERE).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, cwd=HERE).stdout.strip()
        return sha + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def cpu_model() -> str:
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def mpich_version(mpirun: str) -> str:
    tool = os.path.join(os.path.dirname(mpirun), "mpichversion")
    try:
        out = subprocess.run([tool], capture_output=True, text=True, timeout=30).stdout
    except OSError:
        return "unknown"
    fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    return " ".join(f"{k.strip()} {fields[k].strip()}" for k in ("MPICH Version", "MPICH Device")
                    if k in fields)


def format_report(header: list[str], rows: list[dict[str, Any]], ranks: int) -> str:
    lines = [*header, "",
             f"{'model':<26}{'library':<9}{'version':<14}{'1 rank':>12}{f'{ranks} ranks':>12}"
             f"{'speed-up':>10}{'efficiency':>12}   rounds, 1 rank | {ranks} ranks (k samples/s)"]
    for row in rows:
        one, many = row["samples_per_s"]["1"], row["samples_per_s"][str(ranks)]
        lines.append(f"{MODELS[row['model']]:<26}{row['library']:<9}{row['version']:<14}"
                     f"{one / 1e3:>11.1f}k{many / 1e3:>11.1f}k{many / one:>9.2f}x"
                     f"{row['efficiency']:>11.0%}   "
                     + " ".join(f"{v / 1e3:.0f}" for v in row["rounds"]["1"]) + " | "
                     + " ".join(f"{v / 1e3:.0f}" for v in row["rounds"][str(ranks)]))
    return "\n".join(lines)


def parent(args: argparse.Namespace) -> None:
    peers = dict(p.split("=", 1) for p in args.peer)
    ranks = [int(r) for r in args.ranks.split(",")]
    if ranks[0] != 1 or len(ranks) != 2:
        raise SystemExit("--ranks takes 1,N")
    mpirun = mpirun_path(args.mpirun)
    script = os.path.abspath(__file__)
    common = ["--samples", str(args.samples), "--batch", str(args.batch), "--epochs",
              str(args.epochs), "--warmup-epochs", str(args.warmup_epochs), "--threads",
              str(args.threads)]
    corten_opts = ([] if args.bytes_per_pack is None else
                   ["--bytes-per-pack", str(args.bytes_per_pack)]) + (
                   ["--no-overlap"] if args.no_overlap else [])
    configs: list[tuple[str, int, list[str]]] = []
    for n in ranks:
        worker = [sys.executable, script, "--worker", "corten", *common, *corten_opts]
        configs.append(("corten", n, worker if n == 1 else [mpirun, "-np", str(n), *worker]))
    if "torch" in peers:
        for n in ranks:
            configs.append(("torch", n, [peers["torch"], script, "--worker", "torch",
                                         "--ranks", str(n), *common]))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # the worker's group dies too
    records: list[dict[str, Any]] = []
    discarded: list[dict[str, Any]] = []
    for r in range(args.rounds):
        for model in args.models.split(","):
            for library, n, argv in configs:
                for attempt in range(args.retries + 1):
                    waited = wait_for_quiet(args.quiet_wait)
                    time.sleep(args.settle)
                    rec = run_worker([*argv, "--model", model], args.timeout)
                    rec.update(round=r, attempt=attempt, waited_for_quiet_s=waited)
                    busy = rec["others_cpu_s"] / rec["wall_s"]
                    print(f"round {r} {model} {library} x{n}: {rec['samples_per_s'] / 1e3:.1f}k"
                          f" samples/s (epochs "
                          f"{', '.join(f'{s:.3f}' for s in rec['epoch_seconds'])} s; others "
                          f"used {busy:.2f} CPUs, steal {rec['steal_s']:.2f} s)", flush=True)
                    if busy <= args.max_others or attempt == args.retries:
                        records.append(rec)
                        break
                    discarded.append(rec)  # another process shared the cores: run it again
    rows = []
    for model in args.models.split(","):
        for library in dict.fromkeys(lib for lib, _, _ in configs):
            mine = [rec for rec in records if rec["model"] == model and rec["library"] == library]
            by_ranks = {str(n): [rec["samples_per_s"] for rec in mine if rec["ranks"] == n]
                        for n in ranks}
            medians = {k: statistics.median(v) for k, v in by_ranks.items()}
            rows.append({"model": model, "library": library, "version": mine[0]["version"],
                         "samples_per_s": medians, "rounds": by_ranks,
                         "efficiency": medians[str(ranks[1])] / (ranks[1] * medians["1"])})
    corten_comm = next(rec["communication"] for rec in records
                       if rec["library"] == "corten" and rec["ranks"] > 1)
    kernel_isa = next(rec["kernel_isa"] for rec in records if rec["library"] == "corten")
    n = ranks[1]
    now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    header = [
        f"# Data-parallel scaling  {now}  commit {commit()}",
        f"# CPU {cpu_model()} ({os.cpu_count()} logical CPUs)  Python {platform.python_version()}",
        f"# {args.samples}x{FEATURES} float32 synthetic (seeded), global batch {args.batch}, "
        f"{args.threads} thread per rank set through each library's API; samples/s over the "
        f"median of {args.epochs} epochs after {args.warmup_epochs} warm-up epoch(s); median of "
        f"{args.rounds} rounds, configurations alternated; efficiency = {n}-rank samples/s / "
        f"({n} x 1-rank samples/s)",
        f"#   corten {rows[0]['version']} (kernel_isa {kernel_isa}): 1 rank = plain python; "
        f"{n} ranks = mpirun -np {n} ({mpich_version(mpirun)}), MultiWorkerMirroredStrategy; "
        f"communication options: {json.dumps(corten_comm['used'])}"
        + (f" (asked {json.dumps(corten_comm['asked'])})" if corten_comm["asked"] else ""),
    ]
    if "torch" in peers:
        header.append(f"#   torch: 1 rank = one process, plain module; {n} ranks = "
                      f"torch.multiprocessing.spawn, DistributedDataParallel over gloo "
                      f"(127.0.0.1), {args.batch // n} rows of each global batch per rank  "
                      f"[{peers['torch']}]")
    others = [rec["others_cpu_s"] / rec["wall_s"] for rec in records]
    text = format_report(header, rows, n) + (
        f"\n\nOther processes' CPU use during a kept run (the machine's busy time less the "
        f"run's own, per second of the run): median {statistics.median(others):.2f} CPUs, "
        f"most {max(others):.2f}; {len(discarded)} run(s) above {args.max_others} CPUs were "
        f"discarded and run again; hypervisor steal: most "
        f"{max(rec['steal_s'] for rec in records):.2f} s in a run")
    print(text)
    if args.out:
        with open(args.out + ".txt", "w") as f:
            f.write(text + "\n")
        with open(args.out + ".json", "w") as f:
            json.dump({"environment": {"header": header, "peers": peers, "mpirun": mpirun,
                                       "rounds": args.rounds, "epochs": args.epochs,
                                       "warmup_epochs": args.warmup_epochs,
                                       "samples": args.samples, "global_batch": args.batch,
                                       "threads_per_rank": args.threads, "ranks": ranks,
                                       "corten_communication": corten_comm},
                       "results": rows, "runs": records, "discarded_runs": discarded},
                      f, indent=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", choices=("corten", "torch"),
                        help="run one configuration (under mpirun for corten's ranks)")
    parser.add_argument("--model", choices=tuple(MODELS), default="mlp", help="worker's model")
    parser.add_argument("--ranks", default="1,2",
                        help="parent: 1,N; torch worker: its number of processes")
    parser.add_argument("--peer", action="append", default=[], help="torch=PY")
    parser.add_argument("--models", default="mlp,vae")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=5, help="timed epochs per run")
    parser.add_argument("--warmup-epochs", type=int, default=1)
    parser.add_argument("--samples", type=int, default=SAMPLES)
    parser.add_argument("--batch", type=int, default=GLOBAL_BATCH, help="the global batch")
    parser.add_argument("--threads", type=int, default=1, help="threads per rank")
    parser.add_argument("--bytes-per-pack", type=int, default=None,
                        help="corten: CommunicationOptions(bytes_per_pack=N), if the API exists")
    parser.add_argument("--no-overlap", action="store_true",
                        help="corten: CommunicationOptions(overlap=False), if the API exists")
    parser.add_argument("--mpirun", help="the mpirun to start corten's ranks with")
    parser.add_argument("--settle", type=float, default=0.2, help="seconds idle before a run")
    parser.add_argument("--quiet-wait", type=float, default=300,
                        help="at most this many seconds waiting for other processes to go "
                             "idle before a run")
    parser.add_argument("--max-others", type=float, default=0.1,
                        help="a run during which other processes used more CPUs than this on "
                             "average is run again (--retries times)")
    parser.add_argument("--retries", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=600, help="seconds per run")
    parser.add_argument("--out", help="write OUT.txt and OUT.json")
    args = parser.parse_args()
    if args.worker == "corten":
        corten_worker(args)
    elif args.worker == "torch":
        args.ranks = int(args.ranks.split(",")[-1])
        torch_worker(args)
    else:
        parent(args)


if __name__ == "__main__":
    sys.exit(main())
