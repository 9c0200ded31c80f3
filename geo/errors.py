"""Domain errors; the API maps them to status codes in one place, the CLI prints them."""

from __future__ import annotations


class UnionmapError(Exception):
    """Base of the errors a user can act on."""


class NotFound(UnionmapError):
    """A requested object does not exist."""


class InputError(UnionmapError):
    """Bad input: names the file, row and field so the user can fix it.

    Rows are counted as a person counts them in the file: the first data row of a CSV is row 2
    (row 1 is the header); the first feature of a GeoJSON is feature 1.
    """

    def __init__(self, message: str, *, file: str | None = None, row: int | None = None,
                 field: str | None = None) -> None:
        self.file, self.row, self.field, self.reason = file, row, field, message
        where = ", ".join(
            part for part in (
                file and f"file {file}",
                row is not None and f"row {row}" or None,
                field and f"field {field!r}",
            ) if part
        )
        super().__init__(f"{where}: {message}" if where else message)


class InputErrors(UnionmapError):
    """Several bad rows of one input, all reported at once (nothing was written)."""

    def __init__(self, errors: list[InputError], *, file: str | None = None) -> None:
        self.errors, self.file = errors, file
        shown = "; ".join(str(error) for error in errors[:5])
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        super().__init__(f"{len(errors)} bad row(s){' in ' + file if file else ''}: {shown}{more}")


class VersionConflict(UnionmapError):
    """The row changed since the writer read it (optimistic locking): re-read, then retry."""

    def __init__(self, station_id: int, expected: int, current: int) -> None:
        self.station_id, self.expected, self.current = station_id, expected, current
        super().__init__(f"station {station_id} is at version {current}, not {expected}: "
                         "someone changed it since you read it")


class PreconditionRequired(UnionmapError):
    """A change was sent without saying which version it changes (If-Match)."""


class Forbidden(UnionmapError):
    """The caller is known but may not do this (another key's job, say)."""


class StateConflict(UnionmapError):
    """The object is not in a state that allows this (a job that has already finished)."""


class RateLimited(UnionmapError):
    """Too many requests of one kind in a window (riders' reports): try again in ``retry_after_s``."""

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(message)
