"""Many boards, many machines: one session per board (file locks), pools of boards for
pytest-xdist workers, and labgrid places reached over the network. See docs/farm.md."""
