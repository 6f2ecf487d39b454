"""Unit conversions shared by every layer. Inside the engines time is in seconds and memory in
bytes; names carry their unit (``_s``, ``_h``, ``_days``, ``_gib``)."""

SECONDS_PER_DAY = 86_400.0
GIB = 2.0**30


def per_server_s(rate_per_1000_server_days: float) -> float:
    """A configured rate (events per 1000 server-days) per server and second."""
    return rate_per_1000_server_days / 1000.0 / SECONDS_PER_DAY
