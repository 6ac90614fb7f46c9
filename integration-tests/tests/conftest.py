import containers  # noqa: F401  (so that Pants ships containers.py with every test here)

from fink_common.testing import *  # noqa: F403  (shared fixtures: spark, kafka_bootstrap, hbase_client)

# the testcontainers fixtures of our images (docker_network, kafka_container, hbase_container)
pytest_plugins = ["containers"]
