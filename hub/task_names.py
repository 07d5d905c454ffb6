"""Names the workers register their tasks under; the hub sends and schedules tasks by them.

Kept apart from the Celery app so that the settings can name a task without creating the app.
"""

RUN_REQUEST = "mosaics.run_request"
EXPIRE_PRODUCTS = "mosaics.expire_products"
