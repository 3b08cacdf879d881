"""Fetching from the Hugging Face Hub, and nothing else: the configured client (:mod:`.client`:
timeouts, retries, request budget, records turned into rows) and the fetch plan (:mod:`.fetch`:
what to list, resume, writing the snapshot).

May import: openbrief.store, openbrief.registry and openbrief.errors only.
"""
from openbrief.hub.client import Hub, default_budget, has_token, resolve_endpoint

__all__ = [
    "Hub",
    "default_budget",
    "has_token",
    "resolve_endpoint",
]
