"""Names the workers register their tasks under; the hub sends and schedules tasks by them.

Kept apart from the Celery app so that the settings can name a task without creating the app.
The request's tasks are described in hub.mosaics.fanout.
"""

RUN_REQUEST = "mosaics.run_request"
COMPOSE_CHUNK = "mosaics.compose_chunk"
DELIVER_REQUEST = "mosaics.deliver_request"
REAP_REQUESTS = "mosaics.reap_requests"
EXPIRE_PRODUCTS = "mosaics.expire_products"
