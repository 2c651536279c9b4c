from tests.meetings.conftest import rooms_a  # noqa: F401  (fixture)
