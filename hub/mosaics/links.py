"""The public URLs of a product, which its metadata (JSON, INSPIRE, STAC) links to.

The worker that writes the metadata has no HTTP request to take the hub's address from, so an
order records the address it was placed through, and HUB_PUBLIC_URL, when set, wins over it.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.urls import get_script_prefix, reverse

from compositing.products.metadata import ProductLinks
from hub.mosaics.models import MosaicRequest


def order_origin(request: HttpRequest) -> str:
    """Scheme and host the hub was reached at, with its script prefix: 'https://hub.example.org'.

    The host is the one Django accepts (ALLOWED_HOSTS), not any Host header a client sends.
    """
    return request.build_absolute_uri(get_script_prefix()).rstrip("/")


def product_links(req: MosaicRequest) -> ProductLinks:
    """The product's page, file downloads and STAC API: under HUB_PUBLIC_URL, else where the
    order came from, else (an order placed without HTTP) relative to the hub's root."""
    root = settings.HUB_PUBLIC_URL or req.public_url
    # The download route of a file, without the file's name.
    files = reverse("api-mosaic-file", args=[req.pk, "_"]).removesuffix("_")
    return ProductLinks(page=root + reverse("request-detail", args=[req.pk]),
                        files=root + files.rstrip("/"), stac=root + reverse("stac:landing"))
