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
