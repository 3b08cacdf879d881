"""Fetching from the Hugging Face Hub, and nothing else: the configured client (:mod:`.client`:
timeouts, retries, request budget, the pause every worker keeps on a 429), records turned into rows
(:mod:`.records`), the fetch plan (:mod:`.fetch`: what to list, resume, writing the snapshot), its
workers (:mod:`.pool`) and the whole-Hub census (:mod:`.census`).

May import: openbrief.store, openbrief.registry and openbrief.errors only.
"""
from openbrief.hub.client import Hub, default_budget, has_token, resolve_endpoint

__all__ = [
    "Hub",
    "default_budget",
    "has_token",
    "resolve_endpoint",
]
