"""The REST routes under ``/api/v1``, the map pages under ``/maps``, the start page and the
phone finder: one router per resource. No SQL and no commit here (``tests/test_architecture.py``).
"""
