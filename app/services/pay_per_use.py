"""Pay-per-use: what a session costs its host, estimated before and settled after.

    person-minutes          = duration × computers connected to the session
    teleconference minutes  = duration × computers connected to the teleconference
    cost = person-minutes × per-person-minute rate + teleconference minutes × per-minute rate

Rates are Decimals of minor units per minute (0.35 = a third of a cent), so line costs may
hold fractions of a minor unit; the total is rounded once, half up, and never goes below the
site's minimum charge. Plain functions, no database.
"""

from dataclasses import dataclass
from decimal import Decimal

from app.services.pricing import round_half_up

MAX_DURATION_MIN = 24 * 60
MAX_COMPUTERS = 100_000


@dataclass(frozen=True)
class Estimate:
    duration_min: int
    computers: int
    teleconference_computers: int
    person_rate: Decimal  # minor units per person-minute
    teleconference_rate: Decimal  # minor units per teleconference minute
    minimum_minor: int

    @property
    def person_minutes(self):
        return self.duration_min * self.computers

    @property
    def teleconference_minutes(self):
        return self.duration_min * self.teleconference_computers

    @property
    def person_cost(self):
        """Exact, in minor units (may hold a fraction)."""
        return self.person_rate * self.person_minutes

    @property
    def teleconference_cost(self):
        return self.teleconference_rate * self.teleconference_minutes

    @property
    def usage_minor(self):
        """The two lines added up and rounded once."""
        return round_half_up(self.person_cost + self.teleconference_cost)

    @property
    def total_minor(self):
        return max(self.usage_minor, self.minimum_minor)

    @property
    def minimum_applies(self):
        return self.minimum_minor > self.usage_minor


def estimate(duration_min, computers, teleconference_computers, person_rate, teleconference_rate,
             minimum_minor=0):
    for value, limit in ((duration_min, MAX_DURATION_MIN), (computers, MAX_COMPUTERS),
                         (teleconference_computers, MAX_COMPUTERS)):
        if not isinstance(value, int) or not 0 <= value <= limit:
            raise ValueError(f"out of range: {value!r}")
    if duration_min == 0:
        raise ValueError("a session lasts at least a minute")
    return Estimate(duration_min, computers, teleconference_computers, Decimal(person_rate),
                    Decimal(teleconference_rate), minimum_minor)
