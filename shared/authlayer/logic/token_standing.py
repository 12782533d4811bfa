"""Where a presented refresh token stands in its session's family (RFC 9700 §4.14.2).

- LIVE: the session's one live token.
- RACING: an ancestor rotated away no more than the grace window ago. Tabs and retries that
  raced (A and B send P; A gets C; C is rotated to D before B's replay lands) are one race, not
  a theft: every hop after P happened inside P's window, and P re-derives the live token D
  through the stored nonces. The exposure is the same as for the immediate parent alone: only a
  token that was live within the last window seconds, and only while its chain is still known.
- REUSED: an older token, one rotated away longer ago than the window (or any with a window of
  0), or one whose chain does not lead to the live token. The caller ends the session.
- UNKNOWN: the right session id with a secret that never belonged to it (a guess): no effect.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from authlayer.models import Session
from authlayer.refresh_tokens import RefreshToken, same_hash


class Standing(enum.Enum):
    LIVE = "live"
    RACING = "racing"
    REUSED = "reused"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Verdict:
    standing: Standing
    live: RefreshToken | None = None  # LIVE and RACING: the session's live token
    why: str = ""  # REUSED: for the warning log

    @property
    def may_act(self) -> bool:
        """Refresh, log out: only the live token or a racing ancestor (ASVS 5.0 7.4.1)."""
        return self.standing in (Standing.LIVE, Standing.RACING)


def judge(session: Session, token: RefreshToken, now: int, grace: int) -> Verdict:
    presented = token.hash
    if same_hash(presented, session.token_hash):
        return Verdict(Standing.LIVE, token)
    hops = session.hops()  # hops[-k] replaced history[-k]
    for back in range(1, len(session.history) + 1):
        if not same_hash(presented, session.history[-back]):
            continue
        if back > len(hops):
            return Verdict(Standing.REUSED, why="older token replayed")
        if grace == 0 or now - hops[-back].rotated_at > grace:  # 0 means no replay at all
            return Verdict(Standing.REUSED, why="rotated token replayed outside the grace window")
        live = token.descendant([h.nonce for h in hops[-back:]])
        if not same_hash(live.hash, session.token_hash):
            return Verdict(Standing.REUSED, why="rotated token does not lead to the live token")
        return Verdict(Standing.RACING, live)
    return Verdict(Standing.UNKNOWN)
