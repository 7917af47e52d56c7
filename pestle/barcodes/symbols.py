"""Barcode symbols drawn with zxing-cpp and written as 1-bit greyscale PNG with pypng.

The API's ``image`` copies Blend's: Aztec, 2 px per module, no quiet zone (a 27-module
compact symbol is 54x54 px). Printable labels keep the symbology's quiet zone instead.
"""

import base64
import io

import png  # type: ignore[import-untyped]
import zxingcpp

from pestle.barcodes.schemas import SymbolFormat

IMAGE_SCALE = 2

_FORMATS = {
    SymbolFormat.aztec: zxingcpp.BarcodeFormat.Aztec,
    SymbolFormat.datamatrix: zxingcpp.BarcodeFormat.DataMatrix,
    SymbolFormat.qr: zxingcpp.BarcodeFormat.QRCode,
    SymbolFormat.code128: zxingcpp.BarcodeFormat.Code128,
}


def png_bytes(
    text: str,
    symbol: SymbolFormat = SymbolFormat.aztec,
    *,
    scale: int = IMAGE_SCALE,
    quiet_zone: bool = False,
) -> bytes:
    """``text`` as a ``symbol``, ``scale`` px per module, as PNG bytes."""
    drawn = zxingcpp.create_barcode(text, _FORMATS[symbol]).to_image(
        scale=scale, add_quiet_zones=quiet_zone
    )
    height, width = drawn.shape
    pixels = bytes(drawn)  # type: ignore[call-overload]
    rows = [_packed(pixels[row * width : (row + 1) * width]) for row in range(height)]
    out = io.BytesIO()
    png.Writer(width, height, greyscale=True, bitdepth=1).write_packed(out, rows)
    return out.getvalue()


# zxing-cpp draws dark modules as 0 and light as 255: one bit each, 1 for light.
_AS_BIT_CHARS = bytes.maketrans(
    bytes(range(256)), bytes(b"0"[0] if v < 128 else b"1"[0] for v in range(256))
)


def _packed(row: bytes) -> bytes:
    """A row of 8-bit grey pixels as PNG's 1-bit row, packed in C rather than pixel by pixel
    (a 20x Code 128 label is 11,000 px wide)."""
    bits = row.translate(_AS_BIT_CHARS) + b"0" * (-len(row) % 8)
    return int(bits, 2).to_bytes(len(bits) // 8, "big")


def data_uri(text: str) -> str:
    """The API's ``image``: the Aztec PNG of ``text`` as a data URI."""
    encoded = base64.b64encode(png_bytes(text)).decode("ascii")
    return f"data:image/png;base64,{encoded}"
