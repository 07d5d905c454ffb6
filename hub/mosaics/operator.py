"""The operator's compositing settings, from Django's settings (the tasks, the time series and
the CLI pass them to `compositing`)."""

from __future__ import annotations

from django.conf import settings

from compositing.pipeline import MosaicSettings
from compositing.products.metadata import Contact


def mosaic_settings() -> MosaicSettings:
    """The compositing settings of this hub."""
    from hub.stac.embedded import stac_api_url

    return MosaicSettings(
        stac_url=stac_api_url(), collection=settings.HUB_STAC_COLLECTION,
        chunk_size=settings.HUB_CHUNK_SIZE, medoid_min_obs=settings.HUB_MEDOID_MIN_OBS,
        prefix=settings.HUB_PRODUCT_PREFIX,
        contact=Contact(settings.HUB_CONTACT_NAME, settings.HUB_ORGANISATION,
                        settings.HUB_CONTACT_EMAIL),
    )
