from fink_common.testing import *  # noqa: F403  (shared fixtures: spark, hbase_client, ...)
