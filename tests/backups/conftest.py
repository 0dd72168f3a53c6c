# The local S3 server (moto) and the bucket-backed storages of the scale-out tests.
from tests.scaleout.test_s3 import s3, s3_server  # noqa: F401
