from fink_common.testing import *  # noqa: F403  (shared fixtures: spark, kafka_bootstrap, kafka_sasl_bootstrap, ...)
