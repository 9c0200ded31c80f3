"""Pure analysis: coverage of demand cells, the gaps against targets, siting (greedy and exact
maximal covering), candidate sites, and the process pool that runs heavy solves.

Arrays and frames in, frozen results out. May import ``geo.core`` and ``geo.reference``.
"""
