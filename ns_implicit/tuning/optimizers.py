"""Outer optimisers on ``θ = log λ`` (positivity for free): gradient descent with a
backtracking (Armijo) line search, Adam, and scipy's L-BFGS-B. Each calls
``evaluate(θ) -> (f, ∇_θ f)`` and ``stop(f_prev, f, grad_θ) -> bool`` (the driver's rule and
budgets) and returns the last accepted ``θ``."""

import numpy as np

OPTIMIZERS = ("gd", "adam", "lbfgs")


def gradient_descent(evaluate, theta, stop, *, max_change=1.0, shrink=0.5, armijo=1e-4,
                     max_backtracks=30):
    """``θ ← θ - s ∇f`` with ``s`` halved until ``f`` decreases by ``armijo · s ‖∇f‖²``; the
    first trial moves ``log λ`` by at most ``max_change`` (a factor ``e``), the next step
    starts at twice the accepted one."""
    f, g = evaluate(theta)
    scale = float(np.max(np.abs(g)))
    step = max_change / scale if scale > 0 else 1.0
    while True:
        for _ in range(max_backtracks):
            trial = theta - step * g
            f_new, g_new = evaluate(trial)
            if f_new <= f - armijo * step * float(g @ g):
                break
            step *= shrink
        else:
            return theta  # no decrease along -∇f at round-off scale: stationary
        f_prev, theta, f, g = f, trial, f_new, g_new
        if stop(f_prev, f, g):
            return theta
        step /= shrink


def adam(evaluate, theta, stop, *, lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8):
    """Adam (Kingma and Ba) on ``θ``."""
    m, v = np.zeros_like(theta), np.zeros_like(theta)
    f, g = evaluate(theta)
    k = 0
    while True:
        k += 1
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        theta = theta - lr * (m / (1 - beta1 ** k)) / (np.sqrt(v / (1 - beta2 ** k)) + eps)
        f_prev = f
        f, g = evaluate(theta)
        if stop(f_prev, f, g):
            return theta


class _Stop(Exception):
    pass


def lbfgs(evaluate, theta, stop, *, bounds=None, log_loss=False):
    """scipy's L-BFGS-B on ``θ`` (``bounds`` in ``θ``), stopped by the driver's rule (on ``f``).

    ``log_loss``: minimise ``log f`` (gradient ``∇f / f``) for a loss ``f >= 0``: the same
    minimisers, and on the scale where a loss that falls over decades as ``λ`` decreases
    (``f ∝ λ²`` far above the optimum) is nearly linear in ``θ``, so that the quasi-Newton
    model holds and the steps are long (docs/theory.md §10.1). ``f = 0``, the least value, stops."""
    import scipy.optimize

    last = {"f": None, "theta": theta}

    def fun(t):
        f, g = evaluate(t)
        if last["f"] is not None and stop(last["f"], f, g):
            last["theta"] = t
            raise _Stop
        if last["f"] is None or f <= last["f"]:
            last["theta"] = t
        last["f"] = f
        if log_loss:
            if not f > 0.0:  # the least value of a loss >= 0
                last["theta"] = t
                raise _Stop
            return np.log(f), g / f
        return f, g

    try:
        res = scipy.optimize.minimize(fun, theta, jac=True, method="L-BFGS-B", bounds=bounds,
                                      options={"maxiter": 10**6, "ftol": 0.0, "gtol": 0.0})
        return res.x
    except _Stop:
        return last["theta"]
