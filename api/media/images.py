"""Image checks and variants with Pillow: decode (refusing decompression bombs and formats other than
the declared one), drop every metadata chunk (EXIF, XMP, ICC, text) by re-encoding the pixels only,
and produce sized variants. Pure functions: the service runs them in a worker thread."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from core.errors import InvalidInput

# Declared content type -> the Pillow format the bytes must decode as.
FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
# Variant name -> the longest side; variants never upscale. Every variant is WebP.
SIZES = {"avatar": {"small": 96, "medium": 256, "large": 512}, "default": {"thumb": 320, "large": 1600}}
OUTPUT_TYPE = "image/webp"


class InvalidMedia(InvalidInput):
    """The uploaded object is not an acceptable image."""

    code = "invalid_media"


@dataclass(frozen=True)
class Variant:
    name: str
    data: bytes
    width: int
    height: int


@dataclass(frozen=True)
class Decoded:
    width: int
    height: int
    variants: list[Variant]


def _open(data: bytes, content_type: str, max_pixels: int) -> Image.Image:
    expected = FORMATS.get(content_type)
    if expected is None:
        raise InvalidMedia("this content type is not accepted", details={"content_type": content_type})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=[expected])
            width, height = image.size
            if width * height > max_pixels:
                raise InvalidMedia("the image has too many pixels", details={"max_pixels": max_pixels})
            image.load()
    except InvalidMedia:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InvalidMedia("the image is a decompression bomb", details={"max_pixels": max_pixels}) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise InvalidMedia("the object is not a readable image of its declared type") from exc
    return image


def process(data: bytes, content_type: str, purpose: str, max_pixels: int) -> Decoded:
    """Check the image and return its metadata-free variants."""
    image = _open(data, content_type, max_pixels)
    image = ImageOps.exif_transpose(image)  # honour the orientation before the EXIF goes
    image = image.convert("RGBA" if image.mode in ("RGBA", "LA", "P", "PA") else "RGB")
    variants = []
    for name, side in SIZES.get(purpose, SIZES["default"]).items():
        copy = image.copy()
        copy.thumbnail((side, side), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        copy.save(out, format="WEBP", quality=85)  # pixels only: no exif=, icc_profile= or xmp= passed
        variants.append(Variant(name, out.getvalue(), copy.width, copy.height))
    return Decoded(image.width, image.height, variants)
