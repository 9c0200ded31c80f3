"""unionmap's core: the catalogue, coverage, targets and siting, with no web and no maps.

Sub-packages, from the bottom up (a module imports only from its own room or rooms below it):
``core`` (pure value types), ``reference`` (region files and reference geography), ``analysis``
(pure computations), ``store`` (the database), ``services`` (use cases) and ``cli`` (commands).
``errors``, ``settings`` and ``notices`` may be imported from anywhere. Nothing here imports ``api``
or ``maps`` (``tests/test_architecture.py`` checks every import).
"""
