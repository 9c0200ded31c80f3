"""``unionmap region …``: commands about a region folder (check; init comes with issue 16's other slice)."""

from __future__ import annotations

import typer

from geo.cli import region_check

region_app = typer.Typer(help="地区文件夹 / region folders: check", no_args_is_help=True)
region_check.register(region_app)
