import pytest

from fink_common.testing import *  # noqa: F403  (shared fixtures: spark, kafka_bootstrap, hbase_client)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "spark_cluster: runs on a Spark standalone cluster started by the test")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Cluster tests first: one process holds one SparkContext, and theirs must stop (at the end of their
    module) before the local `spark` session of the other tests starts."""
    items.sort(key=lambda item: item.get_closest_marker("spark_cluster") is None)
