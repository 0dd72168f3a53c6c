# The magazine of tests.access.support, built once per module.
from tests.access.conftest import in_world, world, world_storage  # noqa: F401
