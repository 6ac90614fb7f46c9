"""The API's configuration: defaults, and every problem reported at once."""

from __future__ import annotations

import pytest

from fink_api.config import load_config
from fink_common.errors import ConfigError


def test_defaults_serve_the_local_archive() -> None:
    config = load_config({})
    assert (config.hbase.host, config.hbase.port, config.hbase.table_prefix) == ("127.0.0.1", 9090, "")
    assert config.tables.main == "ztf" and config.url == "http://127.0.0.1:8080"
    assert load_config({"FINK_API_HOST": "0.0.0.0", "FINK_API_PORT": "18080"}).url == "http://127.0.0.1:18080"


def test_every_problem_is_reported_at_once() -> None:
    bad = {
        "FINK_HBASE_THRIFT": "hbase",
        "FINK_HBASE_TABLE_PREFIX": "no spaces",
        "FINK_SURVEY": "hsc",
        "FINK_API_HOST": "http://x",
        "FINK_API_PORT": "70000",
    }
    with pytest.raises(ConfigError) as caught:
        load_config(bad)
    message = str(caught.value)
    for name in bad:
        assert name in message, name
