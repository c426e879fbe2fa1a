"""The smoother configuration grammar (mgcore.config)."""

import pytest

from mgcore.config import ALIASES, normalize_name, parse_one_spec, parse_smoother_spec

ALLOWED = ("richardson", "jacobi", "gauss-seidel", "red-black", "chebyshev", "polynomial")


def test_all_spec_forms():
    assert parse_smoother_spec("jacobi", 3, ALLOWED) == [("jacobi", {})] * 3
    assert parse_smoother_spec(("chebyshev", {"degree": 3}), 2, ALLOWED) == [("chebyshev", {"degree": 3})] * 2
    assert parse_smoother_spec({"name": "jacobi", "omega": 0.8}, 1, ALLOWED) == [("jacobi", {"omega": 0.8})]
    assert parse_smoother_spec(("jacobi",), 1, ALLOWED) == [("jacobi", {})]
    out = parse_smoother_spec(["rbgs", ("cheb", {"degree": 2}), {"name": "Gauss_Seidel"}], 3, ALLOWED)
    assert out == [("red-black", {}), ("chebyshev", {"degree": 2}), ("gauss-seidel", {})]


def test_short_list_repeats_last_entry_and_dicts_are_independent():
    out = parse_smoother_spec(["sgs", "jacobi"], 4, ALLOWED)
    assert [n for n, _ in out] == ["gauss-seidel", "jacobi", "jacobi", "jacobi"]
    assert out[0][1] == {"sweep": "symmetric"}
    out[1][1]["omega"] = 0.5
    assert out[2][1] == {}
    # a tuple of names is a per-level sequence too
    assert parse_smoother_spec(("gs", "jacobi"), 2, ALLOWED) == [("gauss-seidel", {}), ("jacobi", {})]


@pytest.mark.parametrize(
    "alias,canon",
    [("GS", "gauss-seidel"), ("gauss_seidel", "gauss-seidel"), ("rbgs", "red-black"), ("Red-Black", "red-black"),
     ("sgs", "gauss-seidel"), ("cheb", "chebyshev"), ("poly", "polynomial"), ("Jacobi", "jacobi")],
)
def test_aliases_are_case_insensitive(alias, canon):
    assert parse_one_spec(alias, ALLOWED)[0] == canon


def test_errors_list_allowed_names():
    with pytest.raises(ValueError, match=r"unknown smoother 'sor'; allowed names: richardson, jacobi, gauss-seidel.*aliases: .*rbgs"):
        parse_smoother_spec("sor", 2, ALLOWED)
    with pytest.raises(ValueError, match=r"allowed names: jacobi \(aliases: damped-jacobi, jac\)$"):
        parse_smoother_spec("gs", 1, ["jacobi"])  # an alias of a name the backend lacks is unknown
    with pytest.raises(ValueError, match="only J = 2 levels"):
        parse_smoother_spec(["jacobi"] * 3, 2, ALLOWED)
    with pytest.raises(ValueError, match="must not be empty"):
        parse_smoother_spec([], 2, ALLOWED)
    with pytest.raises(ValueError, match="'name' key"):
        parse_smoother_spec({"omega": 0.8}, 2, ALLOWED)
    with pytest.raises(ValueError, match="J .* must be an int >= 1"):
        parse_smoother_spec("jacobi", 0, ALLOWED)
    with pytest.raises(TypeError, match="a smoother spec must be"):
        parse_smoother_spec(3, 2, ALLOWED)
    with pytest.raises(TypeError, match="smoother name must be a str"):
        parse_smoother_spec({"name": 3}, 2, ALLOWED)
    with pytest.raises(ValueError, match="cannot be combined with sweep='forward'"):
        parse_smoother_spec(("sgs", {"sweep": "forward"}), 1, ALLOWED)


def test_normalize_and_alias_table():
    assert normalize_name("  Gauss_Seidel ") == "gauss-seidel"
    assert normalize_name("red black") == "red-black"
    assert ALIASES["sgs"] == ("gauss-seidel", {"sweep": "symmetric"})
