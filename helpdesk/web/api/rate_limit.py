"""The API's rate limit: ``HELPDESK_API_RATE_LIMIT`` requests per token (per address without one).

Counted in flask-limiter's storage, so processes sharing Redis (``REDIS_URL``) share the count;
while Redis is unreachable each process counts on its own, as the chat limits do.
Every answer says where the caller stands in ``RateLimit-*`` headers; over the limit is 429.
"""

from __future__ import annotations

import logging
import math
import time

from flask import Response, current_app, g
from limits import RateLimitItem, WindowStats, parse
from limits.errors import StorageError
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter, RateLimiter

from helpdesk.extensions import limiter
from helpdesk.web.api import bp
from helpdesk.web.api.errors import ApiError

# Counts of this process alone, for while the shared storage is unreachable.
_PROCESS_COUNTER = FixedWindowRateLimiter(MemoryStorage())
log = logging.getLogger(__name__)


def charge(key: str) -> None:
    """Count one request against ``key``; 429 ``rate-limited`` when its window is spent."""
    limit = parse(current_app.config["HELPDESK_API_RATE_LIMIT"])
    try:
        allowed, stats = _count(limiter.limiter, limit, key)
    except StorageError as error:
        log.warning("API rate limit storage unreachable, counting in this process: %s", error)
        allowed, stats = _count(_PROCESS_COUNTER, limit, key)
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


def _count(counter: RateLimiter, limit: RateLimitItem, key: str) -> tuple[bool, WindowStats]:
    return counter.hit(limit, "api", key), counter.get_window_stats(limit, "api", key)


@bp.after_request
def _rate_limit_headers(response: Response) -> Response:
    response.headers.update(g.get("api_rate_limit", {}))
    return response
