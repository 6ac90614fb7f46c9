"""fink-client: the users' Kafka client (`fink-consume`) and its Python API, for the ZTF and the Rubin/LSST topics.

    from fink_client import AlertConsumer, load_config, summary_line

    config = load_config(["--topic", "fink_sso_candidates_ztf", "--from-beginning", "--max", "10"])
    with AlertConsumer(config) as consumer:
        for topic, alert in consumer:
            print(topic, alert["objectId"], alert["candidate"]["magpsf"])

    config = load_config(["--topic", "fink_solar_system_lsst", "--from-beginning", "--max", "10"])
    with AlertConsumer(config) as consumer:
        for topic, alert in consumer:  # ids are Python ints, exact (int64)
            print(alert["diaSourceId"], alert["ssObjectId"], alert["diaSource"]["psfFlux"])  # nJy
            print(summary_line(alert, topic))  # what fink-consume prints: AB magnitude, time in UTC

Nothing but the topic name is needed: each message is decoded with the schema it names (published on
`<prefix>schemas`), and the summary line reads the fields of the alert's survey (`fink_client.display`).
The command line `fink-consume` (fink_client.__main__) runs the same consumer: see fink_client.config.
"""

from fink_client.config import ConsumeConfig, load_config
from fink_client.consumer import AlertConsumer, Received
from fink_client.display import summary_line
from fink_client.errors import ClientError, UnknownSchemaError
from fink_client.schemas import SchemaRegistry
from fink_client.sink import AlertSink, read_alerts
from fink_client.topics import list_filter_topics
from fink_common.version import package_version

__all__ = [
    "AlertConsumer",
    "AlertSink",
    "ClientError",
    "ConsumeConfig",
    "Received",
    "SchemaRegistry",
    "UnknownSchemaError",
    "__version__",
    "list_filter_topics",
    "load_config",
    "read_alerts",
    "summary_line",
]

__version__ = package_version("fink_client")
