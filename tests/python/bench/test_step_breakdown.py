"""The step breakdown (python -m corten.bench.step_breakdown) reports what the compiled seed steps
run: its per-node listing names the plan's nodes, the VAE's reconstruction loss as one fused node
that ends with its mean (Note [Row reductions in fused nodes]), and the kinds add up to the
node total."""

from corten.bench import step_breakdown


def test_compiled_breakdown_lists_the_plans_nodes():
    listings: dict[str, list[tuple[str, float]]] = {}
    rows = step_breakdown.compiled_breakdown(1, listings)
    assert set(rows) == set(listings)
    vae = next(name for name in rows if name.startswith("VAE"))
    ops = [op for op, _ in listings[vae]]
    assert "fused[subtract,square,reduce_mean]" in ops
    assert ops.count("adam_update") == 10
    for name, row in rows.items():
        assert row["num_nodes"] == len(listings[name])
        kinds = sum(row[k] for k in step_breakdown.KINDS)
        assert abs(kinds - row["nodes"]) < 1e-6 * max(1.0, row["nodes"])
        assert abs(sum(us for _, us in listings[name]) - row["nodes"]) < 1e-6 * row["nodes"]
