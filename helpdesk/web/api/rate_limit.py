"""The API's rate limit: ``HELPDESK_API_RATE_LIMIT`` requests per token (per address without one).

Counted in flask-limiter's storage, so processes sharing Redis (``REDIS_URL``) share the count.
Every answer says where the caller stands in ``RateLimit-*`` headers; over the limit is 429.
"""

from __future__ import annotations

import math
import time

from flask import Response, current_app, g
from limits import parse

from helpdesk.extensions import limiter
from helpdesk.web.api import bp
from helpdesk.web.api.errors import ApiError


def charge(key: str) -> None:
    """Count one request against ``key``; 429 ``rate-limited`` when its window is spent."""
    limit = parse(current_app.config["HELPDESK_API_RATE_LIMIT"])
    allowed = limiter.limiter.hit(limit, "api", key)
    stats = limiter.limiter.get_window_stats(limit, "api", key)
    reset = max(0, math.ceil(stats.reset_time - time.time()))
    g.api_rate_limit = {
        "RateLimit-Limit": str(limit.amount),
        "RateLimit-Remaining": str(stats.remaining),
        "RateLimit-Reset": str(reset),
    }
    if not allowed:
        g.api_rate_limit["Retry-After"] = str(max(1, reset))
        raise ApiError(
            429,
            "rate-limited",
            f"over the API's rate limit of {limit}; try again in {max(1, reset)} s",
        )


@bp.after_request
def _rate_limit_headers(response: Response) -> Response:
    response.headers.update(g.get("api_rate_limit", {}))
    return response
