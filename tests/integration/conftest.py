from tests.meetings.conftest import rooms_a, settings  # noqa: F401  (fixtures: rooms; meetings on fixed days of 2026)
