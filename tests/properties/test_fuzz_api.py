"""Fuzzing the public solver API: every bad input raises ValueError or TypeError
naming the argument, before any work; nothing else escapes."""

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mgcore.problems import GridProblem, get_problem, poisson
from mgcore.sparse import MultigridSolver

junk = st.one_of(
    st.none(), st.booleans(), st.text(max_size=6), st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-5, max_value=-1), st.lists(st.integers(-3, 3), max_size=3), st.just(object()),
    st.just({"name": 3}), st.just(("jacobi", "omega")),
)

P = GridProblem((15, 15))
B = P.rhs(1.0)
SOLVER = MultigridSolver(P)

CTOR = {
    "nu": st.one_of(junk, st.tuples(st.integers(-3, -1), st.integers(0, 2)), st.just((0, 0))),
    "cycle": st.one_of(junk.filter(lambda v: v not in ("V", "W", "F", "v", "w", "f")), st.just("X")),
    "smoother": st.one_of(st.text(min_size=1, max_size=8).filter(lambda t: t.strip().lower() not in {
        "jacobi", "rbgs", "gs", "sgs", "cheb", "poly", "jac", "lgs", "zebra"}),
        st.just({"name": "jacobi", "omega": -1.0}), st.just({"name": "jacobi", "omega": "x"}),
        st.just({"name": "chebyshev", "degree": 0}), st.just({"name": "polynomial", "roots": []}),
        st.just(("line-gs", {"axis": 7})), st.just(("red-black", {"order": "up"})), st.just(42)),
    "coarse": st.one_of(st.text(max_size=5), st.integers()),
    "coarsening": st.one_of(st.text(max_size=5).filter(lambda t: t not in ("full", "semi")), st.integers()),
    "fast": st.one_of(st.text(max_size=3), st.integers(2, 9)),
    "dtype": st.sampled_from(["int8", "complex128", "float16", "bool"]),
    "threads": st.one_of(st.integers(-3, 0), st.floats(0.5, 3.5), st.text(max_size=2)),
    "interpolation": st.text(max_size=6).filter(lambda t: t not in ("bilinear", "linear")),
    "restriction": st.text(max_size=6).filter(lambda t: t not in ("full-weighting", "transpose")),
    "max_levels": st.one_of(st.integers(-3, 0), st.floats(1.5, 2.5), st.text(max_size=2)),
    "coarse_size": st.one_of(st.integers(-3, 0), st.floats(1.5, 2.5), st.text(max_size=2)),
}
WORDS = {"nu": "nu", "cycle": "cycle", "smoother": "smoother", "coarse": "coarse", "coarsening": "coarsening",
         "fast": "fast", "dtype": "dtype", "threads": "threads", "interpolation": "interpolation",
         "restriction": "restriction", "max_levels": "max_levels", "coarse_size": "coarse_size"}
SMOOTHER_WORDS = ("smoother", "omega", "degree", "roots", "axis", "order", "spec")

SOLVE = {
    "rtol": st.one_of(st.floats(max_value=-1e-9), st.just(float("nan")), st.just(float("inf")), st.text(max_size=3)),
    "maxiter": st.one_of(st.integers(-5, -1), st.floats(0.5, 9.5), st.text(max_size=2)),
    "cycle": st.text(min_size=1, max_size=3).filter(lambda t: t.upper() not in ("V", "W", "F")),
    "accel": st.text(max_size=4).filter(lambda t: t not in ("cg", "gmres")),
    "callback": st.one_of(st.integers(), st.text(max_size=2)),
    "residuals": st.one_of(st.integers(), st.text(max_size=2), st.just((1, 2))),
    "b": st.one_of(st.just(np.ones(7)), st.just(np.full(225, np.nan)), st.just(np.ones(225, dtype=complex)),
                   st.just("abc"), st.just(np.ones((15, 14)))),
    "x0": st.one_of(st.just(np.ones(3)), st.just(np.full(225, np.inf))),
}


def _named(exc, arg):
    msg = str(exc).lower()
    if arg == "smoother":
        return any(w in msg for w in SMOOTHER_WORDS)
    return WORDS.get(arg, arg).lower().replace("_", "") in msg.replace("_", "")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(CTOR)), st.data())
def test_bad_constructor_argument_is_named(arg, data):
    value = data.draw(CTOR[arg])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            MultigridSolver(P, **{arg: value})
        except (ValueError, TypeError) as exc:
            assert _named(exc, arg), f"{arg}={value!r}: {exc}"
            return
    # a value that happens to be valid (e.g. nu=[1, 2], dtype given as text) must give a working solver
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert MultigridSolver(P, **{arg: value}).solve(B, maxiter=30).iterations >= 0


@settings(max_examples=120, deadline=None)
@given(st.sampled_from(sorted(SOLVE)), st.data())
def test_bad_solve_argument_is_named(arg, data):
    value = data.draw(SOLVE[arg])
    kwargs = {"b": B, arg: value}
    b = kwargs.pop("b")
    with pytest.raises((ValueError, TypeError)) as exc:
        SOLVER.solve(b, **kwargs)
    assert _named(exc.value, arg), f"{arg}={value!r}: {exc.value}"


@settings(max_examples=80, deadline=None)
@given(st.sampled_from(["dim", "n", "bc", "discretization", "eps"]), st.data())
def test_bad_problem_argument_is_named(arg, data):
    bad = {
        "dim": st.one_of(st.integers(4, 9), st.integers(-3, 0), st.text(max_size=2)),
        "n": st.one_of(st.integers(-5, 0), st.floats(1.5, 9.5), st.text(max_size=2), st.just((3, 4, 5))),
        "bc": st.text(max_size=6).filter(lambda t: t not in ("dirichlet", "neumann")),
        "discretization": st.text(max_size=4).filter(lambda t: t not in ("fd", "fem")),
        "eps": st.one_of(st.floats(max_value=0.0), st.just(float("nan")), st.just(float("inf"))),
    }[arg]
    value = data.draw(bad)
    kwargs = {"dim": 2, "n": 15, arg: value}
    with pytest.raises((ValueError, TypeError)) as exc:
        poisson(**kwargs)
    msg = str(exc.value)
    assert arg in msg or (arg == "n" and "grid size" in msg), f"{arg}={value!r}: {msg}"


def test_get_problem_names_the_problem():
    with pytest.raises(ValueError, match="problem must be one of"):
        get_problem("helmholtz", 15)
