"""The ``unionmap`` commands of the core: parse options, call geo, print (typer + rich).

May import everything in ``geo``; never ``api`` or ``maps``. The console entry point is composed
one layer out, in ``api/cli.py``, which adds ``serve`` and ``map render`` to :func:`core_app`.
Imports of heavy libraries sit inside the commands so that ``unionmap --help`` starts fast.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer

from geo.cli import analysis, province, registry
from geo.cli.database import db_app
from geo.cli.jobs import jobs_app
from geo.cli.loading import load_app
from geo.cli.region import region_app
from geo.settings import get_settings


def choose_region(
    region: Annotated[str | None, typer.Option(
        "--region", help="地区（文件夹或代码）/ the region every command works on (folder or code; default: the "
                         "database's default region), as UNIONMAP_REGION")] = None,
) -> None:
    """unionmap：工会服务阵地地图 / trade-union service-point maps."""
    if region is not None:  # what UNIONMAP_REGION says, for this run: every command reads the settings
        os.environ["UNIONMAP_REGION"] = region
        get_settings.cache_clear()


def core_app() -> typer.Typer:
    """The commands of the core: db, load, jobs, region, coverage, gaps, plan, keys, import, export."""
    app = typer.Typer(help="unionmap：工会服务阵地地图 / trade-union service-point maps", no_args_is_help=True)
    app.callback()(choose_region)
    app.add_typer(db_app, name="db")
    app.add_typer(load_app, name="load")
    app.add_typer(jobs_app, name="jobs")
    app.add_typer(region_app, name="region")
    analysis.register(app)
    province.register(app)
    registry.register(app)
    return app
