"""The broker URL: its shape, and whether a broker answers there, within a timeout.

Owns: ``probe`` (the URL's shape first, ``config.broker_url_problem``; then one
PING with a connect and read timeout: ``BrokerUnreachable`` naming the URL, its password
hidden, and the cause in words: refused, unknown host, no answer, authentication failed) and
``redact`` (the config's one masking rule, re-exported). Does not own: the Celery app
(``workers.app``) or what is sent (``workers.dispatch``).

Entry points: ``probe``, ``redact``; ``check_url`` and ``SCHEMES`` are the config's, re-exported.
"""

from __future__ import annotations

import redis
import redis.exceptions

from mediapipe.config import BROKER_SCHEMES as SCHEMES
from mediapipe.config import broker_url_problem as check_url
from mediapipe.config import redact
from mediapipe.errors import BrokerUnreachable

__all__ = ["DEFAULT_TIMEOUT_S", "SCHEMES", "check_url", "probe", "redact"]

DEFAULT_TIMEOUT_S = 3.0


def _cause(exc: Exception, timeout: float) -> str:
    if isinstance(exc, redis.exceptions.AuthenticationError | redis.exceptions.NoPermissionError):
        return f"authentication failed ({exc})"
    if isinstance(exc, redis.exceptions.TimeoutError):
        return f"no answer within {timeout:g}s"
    text = str(exc).strip() or type(exc).__name__
    if "NOAUTH" in text or "WRONGPASS" in text:
        return f"authentication failed ({text})"
    if "-2 connecting" in text or "-3 connecting" in text or "-5 connecting" in text:
        return f"unknown host ({text})"
    if "111 connecting" in text:
        return f"connection refused: is the broker running? ({text})"
    return text


def probe(url: str, timeout: float = DEFAULT_TIMEOUT_S) -> None:
    """PING the broker at ``url``; ``BrokerUnreachable`` unless it answers within ``timeout``."""
    shown = redact(url)
    if problem := check_url(url):
        raise BrokerUnreachable(shown, f"{problem}; expected redis://host:port/db, rediss:// "
                                       "(TLS) or unix:///path/to/socket")
    client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        client.ping()
    except (redis.exceptions.RedisError, OSError, ValueError) as exc:
        raise BrokerUnreachable(shown, _cause(exc, timeout)) from exc
    finally:
        client.close()
