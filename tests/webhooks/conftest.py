from tests.cases.conftest import categories, place  # noqa: F401  (fixtures)
