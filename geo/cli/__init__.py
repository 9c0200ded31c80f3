"""The ``unionmap`` commands of the core: parse options, call geo, print (typer + rich).

May import everything in ``geo``; never ``api`` or ``maps``. The console entry point is composed
one layer out, in ``api/cli.py``, which adds ``serve`` and ``map render`` to :func:`core_app`.
Imports of heavy libraries sit inside the commands so that ``unionmap --help`` starts fast.
"""

from __future__ import annotations

import typer

from geo.cli import analysis, province, registry
from geo.cli.database import db_app
from geo.cli.jobs import jobs_app
from geo.cli.loading import load_app
from geo.cli.region import region_app


def core_app() -> typer.Typer:
    """The commands of the core: db, load, jobs, region, coverage, gaps, plan, keys, import, export."""
    app = typer.Typer(help="unionmap：工会服务阵地地图 / trade-union service-point maps", no_args_is_help=True)
    app.add_typer(db_app, name="db")
    app.add_typer(load_app, name="load")
    app.add_typer(jobs_app, name="jobs")
    app.add_typer(region_app, name="region")
    analysis.register(app)
    province.register(app)
    registry.register(app)
    return app
