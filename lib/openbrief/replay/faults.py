"""Faults the replay Hub injects on request (429s, 5xx, stalls, truncated or dropped answers):
the rule grammar is in the package docstring.
"""
from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


# ---------------------------------------------------------------------------
# Fault injection

_ERROR_ACTIONS = frozenset({"429", "500", "502", "503", "504"})
_ACTIONS = _ERROR_ACTIONS | {"stall", "truncate", "malformed", "drop"}
_ROUTES = frozenset({"models", "model_info", "any"})


@dataclass(frozen=True)
class FaultRule:
    """When and how to misbehave; see the module docstring for the text form."""

    route: str
    action: str
    first: int = 1                 # occurrence (or page) range, 1-based
    last: int | None = None        # None: no upper bound
    by_page: bool = False          # count pages of a listing instead of requests
    seconds: float = 0.0           # stall
    close: bool = False            # truncate by closing, without Content-Length
    retry_after: int | None = None
    ratelimit: int | None = None
    times: int | None = None
    spec: str = ""

    def __str__(self) -> str:
        return self.spec or f"{self.route}:{self.first}-{self.last}:{self.action}"


def parse_fault(spec: str) -> FaultRule:
    """Parse ``ROUTE:WHEN:ACTION[:OPTION]...`` into a :class:`FaultRule`."""
    def fail(problem: str) -> ValueError:
        return ValueError(f"bad fault spec {spec!r}: {problem}")

    parts = spec.strip().split(":")
    if len(parts) < 3:
        raise fail("expected ROUTE:WHEN:ACTION[:OPTION...]")
    route, when, action, *options = parts
    if route not in _ROUTES:
        raise fail(f"route must be one of {sorted(_ROUTES)}")
    rule: dict[str, Any] = {"route": route, "spec": spec.strip()}

    if when.startswith("page="):
        if route != "models":
            raise fail("page=N applies to the models route only")
        rule["by_page"], when = True, when[len("page="):]
    if when == "*" and not rule.get("by_page"):
        rule["first"], rule["last"] = 1, None
    else:
        match = re.fullmatch(r"(\d+)(?:-(\d+))?", when)
        if not match or int(match[1]) < 1:
            raise fail("WHEN must be *, N, N-M, page=N or page=N-M (N >= 1)")
        rule["first"] = int(match[1])
        rule["last"] = int(match[2]) if match[2] else int(match[1])
        if rule["last"] < rule["first"]:
            raise fail("empty range")

    name, _, value = action.partition("=")
    if name not in _ACTIONS:
        raise fail(f"action must be one of {sorted(_ACTIONS)}")
    rule["action"] = name
    if name == "stall":
        try:
            rule["seconds"] = float(value)
        except ValueError:
            raise fail("stall needs seconds: stall=S") from None
    elif name == "truncate":
        if value not in ("", "length", "close"):
            raise fail("truncate takes no value, =length or =close")
        rule["close"] = value == "close"
    elif value:
        raise fail(f"action {name} takes no value")

    for option in options:
        key, _, number = option.partition("=")
        if key not in ("times", "retry-after", "ratelimit") or not number.isdigit():
            raise fail(f"unknown option {option!r} (times=K, retry-after=N, ratelimit=N)")
        if key != "times" and name != "429":
            raise fail(f"{key} applies to 429 only")
        rule[key.replace("-", "_")] = int(number)
    return FaultRule(**rule)


class FaultBook:
    """Thread-safe bookkeeping of which rule fires on which request."""

    def __init__(self, rules: Iterable[FaultRule | str]):
        self.rules = [parse_fault(r) if isinstance(r, str) else r for r in rules]
        self._seen = [0] * len(self.rules)
        self._fired = [0] * len(self.rules)
        self._lock = threading.Lock()

    def pick(self, route: str, page: int | None) -> FaultRule | None:
        """Count this request on every matching rule; return the first that fires."""
        chosen = None
        with self._lock:
            for i, rule in enumerate(self.rules):
                if rule.route not in ("any", route):
                    continue
                self._seen[i] += 1
                if chosen is not None:
                    continue
                position = page if rule.by_page else self._seen[i]
                if position is None or position < rule.first:
                    continue
                if rule.last is not None and position > rule.last:
                    continue
                if rule.times is not None and self._fired[i] >= rule.times:
                    continue
                self._fired[i] += 1
                chosen = rule
        return chosen
