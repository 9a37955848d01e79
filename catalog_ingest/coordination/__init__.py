"""What lets many processes share a provider: the provider lock and the request slots, on
Redis (``redis_*``, Lua scripts in ``lua/``) and in-process (``local_*``), and the Redis keys."""
