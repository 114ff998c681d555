"""The server's price list: what each feature costs in credits. Clients name a feature and a quantity;
the amount is computed here, never read from a request (README "Prices").

- per-unit features (chat messages, slide decks, images...): ``UNIT_PRICES[feature] * quantity``;
- video generation: ``VIDEO_PER_SECOND[quality] * duration`` (seconds), one video per job.
"""

from __future__ import annotations

from core.errors import InvalidInput

UNIT_PRICES: dict[str, int] = {
    "chat.flash": 1,  # one chat message on the fast model
    "chat.pro": 5,  # one chat message on the large model
    "slides.generate": 20,  # one slide deck
    "slides.page": 2,  # one more page of a deck
    "image.generate": 8,  # one image
    "voice.minute": 3,  # one minute of speech synthesis
}
VIDEO_FEATURE = "video.generate"
VIDEO_PER_SECOND: dict[str, int] = {"480p": 2, "720p": 4, "1080p": 8}
VIDEO_DURATIONS = (5, 8, 10, 15)
MAX_QUANTITY = 1000


def unit_price(feature: str, quantity: int) -> int:
    """Credits for ``quantity`` units of a per-unit feature (unknown feature → InvalidInput)."""
    if feature not in UNIT_PRICES:
        raise InvalidInput("no such feature", details={"feature": feature, "known": sorted(UNIT_PRICES)})
    if not 1 <= quantity <= MAX_QUANTITY:
        raise InvalidInput("quantity out of range", details={"quantity": quantity, "max": MAX_QUANTITY})
    return UNIT_PRICES[feature] * quantity


def video_price(duration: int, quality: str) -> int:
    """Credits for one generated video of ``duration`` seconds at ``quality``."""
    if quality not in VIDEO_PER_SECOND or duration not in VIDEO_DURATIONS:
        raise InvalidInput("no price for this duration and quality", details={"duration": duration, "quality": quality})
    return VIDEO_PER_SECOND[quality] * duration


def price_list() -> dict[str, object]:
    return {
        "features": [{"feature": f, "unit_price": p} for f, p in sorted(UNIT_PRICES.items())],
        "video": [
            {"feature": VIDEO_FEATURE, "quality": q, "duration": d, "price": video_price(d, q)}
            for q in VIDEO_PER_SECOND
            for d in VIDEO_DURATIONS
        ],
    }
