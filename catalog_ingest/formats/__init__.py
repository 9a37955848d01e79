"""Parsing untrusted documents safely: shared by the configuration and the sources that read
entity files (a layer of its own, below both, above the engine)."""
