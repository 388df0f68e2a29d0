"""The bench's process runner, on toy peers that sleep a fixed time (nothing here times corten)."""

import sys
from pathlib import Path

import pytest
from corten.bench import cli, report, runner
from corten.bench.peers.cases import Case

TOY = str(Path(__file__).with_name("toy_peer.py"))
PEERS = str(cli.PEERS_DIR)


def spec(name, *args):
    return runner.PeerSpec(name, (sys.executable, TOY, "--peers-dir", PEERS, "--name", name,
                                  *args))


def run_toys(specs, rounds=3, repeats=2, threads=(1, 2)):
    workers = runner.start_workers(specs, threads)
    try:
        return runner.run(workers, [runner.Job("toy/sleep 1")], rounds, repeats, settle=0.0)
    finally:
        for _, _, w in workers:
            w.close()


def test_medians_per_process_and_thread_count():
    result = run_toys([spec("corten", "--ms", "10"), spec("torch", "--ms", "25",
                                                          "--ms-at-2", "5")])
    got = {(m.library, m.threads): m for m in result.measurements}
    assert set(got) == {("corten", 1), ("corten", 2), ("torch", 1), ("torch", 2)}
    for (lib, thr), expected in {("corten", 1): 10, ("corten", 2): 10, ("torch", 1): 25,
                                 ("torch", 2): 5}.items():
        m = got[(lib, thr)]
        assert m.error is None
        assert len(m.rounds) == 3  # one median per round
        # time.sleep sleeps at least the time asked; scheduling adds a little
        assert expected / 1e3 <= m.seconds < (expected + 8) / 1e3, (lib, thr, m.rounds)
    # each process is its own: the hello reports the thread count it was started with
    assert result.hellos[("torch", 2)]["threads"] == 2
    assert result.hellos[("torch", 2)]["version"] == "0.0-toy"


def test_table_shows_best_thread_count_and_ratios():
    result = run_toys([spec("corten", "--ms", "10"), spec("torch", "--ms", "25",
                                                          "--ms-at-2", "5")])
    case = Case("toy", "sleep", "1", ("corten", "torch"))
    lines = report.format_case(case, result.measurements,
                               report.versions_of(result.hellos), [1, 2], None, None)
    assert lines[0] == "## toy/sleep 1  (ms per call)"
    header, corten_row, torch_row = (line.split(" | ") for line in lines[1:4])
    assert [c.strip() for c in header] == ["library", "version", "1 thr", "2 thr",
                                           "best (thr)", "vs corten at 2 thr",
                                           "vs corten at best"]
    torch_cells = [c.strip() for c in torch_row]
    assert torch_cells[0] == "torch"
    assert torch_cells[4].endswith("(2)")  # torch is fastest at 2 threads
    assert float(torch_cells[2]) > 20  # ms at 1 thread
    # 5 ms against corten's 10: about 0.5x at 2 threads and at each one's best
    assert 0.35 < float(torch_cells[5].rstrip("x")) < 0.65
    assert 0.35 < float(torch_cells[6].rstrip("x")) < 0.65
    assert [c.strip() for c in corten_row][5:] == ["1.00x", "1.00x"]


def test_missing_and_failing_peers_are_reported_not_fatal():
    result = run_toys([spec("corten", "--ms", "1"), spec("torch", "--ms", "1", "--missing"),
                       spec("keras3-jax", "--ms", "1", "--broken")], rounds=1, repeats=1,
                      threads=(1,))
    assert result.hellos[("torch", 1)]["available"] is False
    assert "not installed" in result.hellos[("torch", 1)]["why"]
    broken = [m for m in result.measurements if m.library == "keras3-jax"]
    assert len(broken) == 1
    assert "broken on purpose" in broken[0].error
    assert broken[0].rounds == []
    case = Case("toy", "sleep", "1", ("corten", "torch", "keras3-jax"))
    text = "\n".join(report.format_case(case, result.measurements,
                                        report.versions_of(result.hellos), [1], None, None))
    assert "torch" in text
    assert "not installed" in text
    assert "keras3-jax at 1 thr failed: ValueError: toy: broken on purpose" in text


def test_a_worker_that_dies_is_an_error_not_a_hang():
    dead = runner.PeerSpec("corten", (sys.executable, "-c", "import sys; sys.exit(3)"))
    worker = runner.ProcessWorker(dead, 1)
    try:
        assert worker.hello["available"] is False
        assert "exited with code 3" in worker.hello["why"]
    finally:
        worker.close()


def test_every_case_key_is_unique_and_every_kernel_case_has_a_reference():
    from corten.bench.peers import cases

    assert len(cases.BY_KEY) == len(cases.CASES)
    for case in cases.CASES:
        if case.builds:  # layer cases: one Keras build for the Keras-API libraries, torch's own
            assert set(case.calls) == {"numpy"}, case.key
            # Every library the case names has a build: torch its own, the others Keras's.
            assert "keras" in set(case.builds) <= {"keras", "torch"}, case.key
            assert set(case.libraries) <= {*case.builds, *cases.KERAS_API_LIBRARIES}, case.key
        elif case.calls:
            assert "numpy" in case.calls, case.key
            assert set(case.libraries) <= set(case.calls), case.key


@pytest.mark.parametrize("bad", ["torch", "nonsense=/usr/bin/python"])
def test_peer_argument_is_checked(bad):
    with pytest.raises(SystemExit, match="--peer takes NAME=PYTHON"):
        cli.interpreters([bad])
