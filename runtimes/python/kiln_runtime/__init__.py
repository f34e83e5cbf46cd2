"""Kiln's Python runtime: the pieces behind runtimes/python/server.py (stdlib only, so it boots with no install)."""
