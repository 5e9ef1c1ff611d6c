"""How often a thing may be done: every rule of the programme in one place, and the limiter services ask.

A service takes a `RateLimiter` as a parameter and names a `Rule` and a key (a LINE user id, a phone, an IP, a store
key); it never knows where the counts live. `bot.rate_limit` is the implementation (the `limits` library, moving
window, in Redis when REDIS_URL is set and in memory otherwise). Every key part is hashed with the app's secret key
before it reaches the storage, so no phone number, LINE user id or API key is ever written there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Rule:
    """At most `amount` in any `per` seconds (a moving window), counted apart for each key."""

    name: str
    amount: int
    per: int
    # When the limiter's storage cannot be reached: refuse (True) where a hit costs money or guards a secret (SMS
    # codes, bind codes), let it through (False) where refusing would only shut shoppers or tills out.
    fail_closed: bool = False
    # Counted with a sliding window counter (constant work a hit, a close estimate) rather than an exact moving
    # window, whose work grows with the amount: for high-volume rules such as the POS API's.
    approximate: bool = False

    def __post_init__(self) -> None:
        if self.amount < 1 or self.per < 1:
            raise ValueError(f"rule {self.name!r} needs a positive amount and period")

    @classmethod
    def parse(cls, name: str, text: str, *, approximate: bool = False) -> Rule:
        """A rule from text like "600/minute", "600 per minute" or "10/10 minutes" (an env var's value)."""
        found = _RATE.fullmatch(text.strip().lower())
        if found is None or int(found["amount"]) < 1 or int(found["multiple"] or 1) < 1:
            raise ValueError(f"{text!r} is not a rate like 600/minute or 10/10 minutes")
        seconds = int(found["multiple"] or 1) * _UNIT_SECONDS[found["unit"]]
        return cls(name, int(found["amount"]), seconds, approximate=approximate)


_UNIT_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_RATE = re.compile(r"(?P<amount>\d+)\s*(?:/|per)\s*(?P<multiple>\d+)?\s*(?P<unit>second|minute|hour|day)s?", re.ASCII)

# One-time SMS codes (join and bind pages): per phone and LINE user, the shopper's own retries ...
OTP_PER_PHONE_AND_USER = Rule("otp-phone-user", 5, 3600, fail_closed=True)
# ... per phone across LINE users, a ceiling on texts to one phone (and on the SMS bill) set high enough that one
# stranger's LINE account cannot use up the owner's tries: it takes three accounts to lock a phone for an hour ...
OTP_PER_PHONE = Rule("otp-phone", 15, 3600, fail_closed=True)
# ... and per LINE user, so one account cannot walk through many numbers looking for members.
OTP_PER_LINE_USER = Rule("otp-line-user", 10, 3600, fail_closed=True)
# Wrong counter bind codes typed in the chat, per LINE user: a 6-digit code cannot be guessed 5 tries at a time.
# Only wrong (or used or expired) codes are counted; the fifth wrong one is already answered "too many".
BIND_CODE_WRONG = Rule("bind-code-wrong", 5, 600, fail_closed=True)
# Join page posts per LINE user: a shopper fixing typos needs a few, a script hammering the form needs many.
JOIN_PER_LINE_USER = Rule("join-line-user", 10, 600)
# Join page posts per client IP: looser, since a shop's Wi-Fi or a carrier's NAT puts many phones behind one address.
JOIN_PER_IP = Rule("join-ip", 30, 600)
# Wrong back-office passwords per staff number: five wrong tries lock the number for 15 minutes (an admin can reset
# the password sooner). Fail closed: a password must not be guessable while the counts are unreachable.
STAFF_SIGN_IN_PER_CODE = Rule("staff-sign-in-code", 5, 900, fail_closed=True)
# ... and per client address, so one machine cannot walk through many staff numbers.
STAFF_SIGN_IN_PER_ADDRESS = Rule("staff-sign-in-address", 30, 900, fail_closed=True)
# POS API requests per store key: far above any till's pace, low enough that a runaway client cannot flood the
# database. Overridden by POS_RATE_LIMIT (see Settings).
POS_PER_KEY = Rule("pos-key", 600, 60, approximate=True)
# Campaign multicasts sent to LINE per second (LINE allows 200 per channel): the LINE client waits its turn under it.
# Overridden by LINE_MULTICAST_RATE (see Settings).
LINE_MULTICAST_RATE = Rule("line-multicast", 190, 1)


class RateLimiter(Protocol):
    """Counts hits per rule and key in a moving window. Implementations must not store key parts in clear."""

    def hit(self, rule: Rule, *key_parts: str) -> bool:
        """Count one hit if the rule allows it: True when allowed (and counted), False when over the limit."""
        ...

    def test(self, rule: Rule, *key_parts: str) -> bool:
        """Whether one more hit would be allowed now, counting nothing."""
        ...

    def clear(self, rule: Rule, *key_parts: str) -> None:
        """Forget every hit counted for this rule and key."""
        ...

    def remaining(self, rule: Rule, *key_parts: str) -> int:
        """How many more hits the rule allows now."""
        ...

    def retry_after(self, rule: Rule, *key_parts: str) -> int:
        """Whole seconds until one more hit is allowed (0 when it already is)."""
        ...
