from fink_common.testing import *  # noqa: F403  (shared fixtures: kafka_bootstrap, kafka_sasl_bootstrap, ...)
