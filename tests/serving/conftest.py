# The magazine of tests.access.support, shared with the access tests.
from tests.access.conftest import in_world, world, world_storage  # noqa: F401
