"""QR codes as inline SVG (segno, pure Python: no network, no image files).

The SVG holds only squares drawn from the encoded text's bits, never the text itself, so it is
safe to put into a page unescaped; the text it encodes is a URL this app built.
"""

from __future__ import annotations

import segno


def qr_svg(data: str) -> str:
    """An SVG QR code of ``data`` (error correction M, survives a scuff on a door), scaled by CSS.

    No width or height: the page sets its size (in millimetres when printed). Four modules of
    quiet zone, as the standard asks, so scanners find it on a busy background.
    """
    code = segno.make(data, error="m", micro=False)
    return str(code.svg_inline(scale=1, border=4, omitsize=True, svgclass="card-qr-svg", lineclass="card-qr-line"))
