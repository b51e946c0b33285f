"""Measure the tie conventions of autodiff frameworks on the library's operators.

    python validation/tie_conventions.py [--json FILE]

For each framework that imports (JAX, PyTorch; skipped otherwise) and each common way of
writing an operator, the derivative that reverse-mode autodiff returns *exactly at the kink*
(docs/theory.md §4, §15.4):

* soft-thresholding ``S_τ(u)`` at ``u = τ`` (τ = 1): ``sign(u)·relu(|u| − τ)``,
  ``sign(u)·maximum(|u| − τ, 0)``, ``where(|u| > τ, u − sign(u)τ, 0)``, ``u − clip(u, −τ, τ)``;
* the nonnegative projection / ReLU at ``u = 0``: ``relu``, ``maximum(u, 0)``, ``clip(u, 0, ∞)``;
* the box projection onto ``[0, C]`` at ``u = C`` (C = 1): ``clip(u, 0, C)``,
  ``minimum(maximum(u, 0), C)``.

The derivative at the tie is the weight ``m`` a backend's selection gives the tied coordinate:
0 is the inactive vertex (ns_implicit's rule), 1 the active vertex, anything else an interior
point of the conservative set; ``ns-implicit check-backend --near-kinks`` reports the
implied ``m`` of a whole backend (README "Testing another backend"). Nothing is asserted.
"""

import argparse
import json


def _jax_rows():
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    tau, C = 1.0, 1.0
    ops = {
        ("soft-threshold", "sign·relu(abs(u)−τ)"): (lambda u: jnp.sign(u) * jax.nn.relu(jnp.abs(u) - tau), tau),
        ("soft-threshold", "sign·maximum(abs(u)−τ, 0)"): (lambda u: jnp.sign(u) * jnp.maximum(jnp.abs(u) - tau, 0.0), tau),
        ("soft-threshold", "where(abs(u)>τ, u−sign·τ, 0)"): (lambda u: jnp.where(jnp.abs(u) > tau, u - jnp.sign(u) * tau, 0.0), tau),
        ("soft-threshold", "u − clip(u, −τ, τ)"): (lambda u: u - jnp.clip(u, -tau, tau), tau),
        ("nonnegative", "relu(u)"): (jax.nn.relu, 0.0),
        ("nonnegative", "maximum(u, 0)"): (lambda u: jnp.maximum(u, 0.0), 0.0),
        ("nonnegative", "clip(u, 0, ∞)"): (lambda u: jnp.clip(u, 0.0, None), 0.0),
        ("box [0, C]", "clip(u, 0, C)"): (lambda u: jnp.clip(u, 0.0, C), C),
        ("box [0, C]", "minimum(maximum(u, 0), C)"): (lambda u: jnp.minimum(jnp.maximum(u, 0.0), C), C),
    }
    return [("JAX " + jax.__version__, op, form, float(jax.grad(f)(jnp.float64(at))))
            for (op, form), (f, at) in ops.items()]


def _torch_rows():
    import torch

    tau, C = 1.0, 1.0

    def grad(f, at):
        u = torch.tensor(at, dtype=torch.float64, requires_grad=True)
        f(u).backward()
        return float(u.grad)

    ops = {
        ("soft-threshold", "sign·relu(abs(u)−τ)"): (lambda u: torch.sign(u) * torch.relu(u.abs() - tau), tau),
        ("soft-threshold", "sign·maximum(abs(u)−τ, 0)"): (lambda u: torch.sign(u) * torch.maximum(u.abs() - tau, torch.zeros((), dtype=u.dtype)), tau),
        ("soft-threshold", "where(abs(u)>τ, u−sign·τ, 0)"): (lambda u: torch.where(u.abs() > tau, u - torch.sign(u) * tau, torch.zeros((), dtype=u.dtype)), tau),
        ("soft-threshold", "u − clamp(u, −τ, τ)"): (lambda u: u - torch.clamp(u, -tau, tau), tau),
        ("soft-threshold", "softshrink"): (lambda u: torch.nn.functional.softshrink(u, tau), tau),
        ("nonnegative", "relu(u)"): (torch.relu, 0.0),
        ("nonnegative", "maximum(u, 0)"): (lambda u: torch.maximum(u, torch.zeros((), dtype=u.dtype)), 0.0),
        ("nonnegative", "clamp(u, min=0)"): (lambda u: torch.clamp(u, min=0.0), 0.0),
        ("box [0, C]", "clamp(u, 0, C)"): (lambda u: torch.clamp(u, 0.0, C), C),
        ("box [0, C]", "minimum(maximum(u, 0), C)"): (lambda u: torch.minimum(torch.maximum(u, torch.zeros((), dtype=u.dtype)), torch.full((), C, dtype=u.dtype)), C),
    }
    return [("PyTorch " + torch.__version__, op, form, grad(f, at))
            for (op, form), (f, at) in ops.items()]


def _reading(m):
    return {0.0: "inactive vertex (as ns_implicit)", 1.0: "active vertex"}.get(
        m, f"interior, m = {m:g}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", metavar="FILE")
    args = ap.parse_args(argv)
    rows = []
    for name, measure in (("JAX", _jax_rows), ("PyTorch", _torch_rows)):
        try:
            rows += measure()
        except ImportError:
            print(f"{name}: not installed, skipped")
    print("| framework | operator | written as | derivative at the kink | vertex |")
    print("|---|---|---|---|---|")
    for fw, op, form, m in rows:
        print(f"| {fw} | {op} | `{form}` | {m:g} | {_reading(m)} |")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump([dict(zip(("framework", "operator", "form", "derivative"), r))
                       for r in rows], fh, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
