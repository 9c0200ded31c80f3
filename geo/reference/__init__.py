"""The region folder and the reference geography built from it (counties, derived townships,
modelled population, the H3 demand grid, population rasters, the demo registry, service types
and targets as read from their files).

Pure: files in, frames and checked models out; data files are parsed once per version of the
file (``region.cached_by_version``). May import ``geo.core``. Writing these layers to the
database is the store's job (``geo.store``), and ``geo.services.loading`` says in which order.
"""

DEFAULT_TYPE = "love_station"
"""The service type shown when none is asked for (maps, plans, the finder, the CLI): 爱心驿站, the
first service type of the work report and of ``data/service_types.yaml``, where the code must stay
(a test checks it). It lives here, not in ``service_types``, so that naming it costs the CLI no
import of the file readers."""
