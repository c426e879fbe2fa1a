"""mgcore: multigrid solvers and MgNet networks from one abstract core."""
__version__ = "0.1.0"
