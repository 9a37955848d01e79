"""The engine: the state table (one step per tick), bursts with read-ahead, deferred items,
the guarded sweep, events, operator actions and entity preparation. It works against the
contracts only: no database driver, broker, HTTP client or terminal library."""
