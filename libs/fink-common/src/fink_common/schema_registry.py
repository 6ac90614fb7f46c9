"""Writer schemas by id: a Confluent-compatible schema registry, a disk cache, and Rubin's official package.

A Confluent-framed message names its writer schema by id; `SchemaResolver.schema(id)` finds it:

1. in this process's memory;
2. in the disk cache (`<cache_dir>/<registry>/<id>.avsc`): an id never changes meaning within a registry, so a
   cached schema is final;
3. from the registry, `GET <url>/schemas/ids/<id>` (the Confluent API, which Rubin's registry and Apicurio's
   `ccompat` API both speak), then written to the disk cache. A registry that does not answer, or answers
   5xx, is retried at this I/O edge for up to `retry_s`; after that `ServiceUnavailableError` propagates,
   which fails the micro-batch, so no offset moves past a message that was not written;
4. from the fallback (Rubin's official `lsst-alert-packet` schemas): when no registry is configured (the
   air-gapped setting), or when the registry answers 404 for the id.

An id found nowhere raises `UnknownSchemaError`, a `DecodeError`: the message is quarantined with that reason.
"""

from __future__ import annotations

import hashlib
import json
import os
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fink_common.config import EnvReader
from fink_common.errors import DecodeError, SchemaError, ServiceUnavailableError
from fink_common.retry import io_retry

__all__ = ["RegistrySettings", "SchemaResolver", "UnknownSchemaError"]


class UnknownSchemaError(DecodeError):
    """No registry, cache or package knows this schema id."""


@dataclass(frozen=True)
class RegistrySettings:
    """FINK_SCHEMA_REGISTRY_URL (empty: none, the official package only), FINK_SCHEMA_CACHE_DIR,
    FINK_SCHEMA_REGISTRY_TIMEOUT (s per request) and FINK_SCHEMA_REGISTRY_RETRY (s of retries in all)."""

    url: str = ""
    cache_dir: str = ""
    timeout_s: float = 10.0
    retry_s: float = 180.0

    @classmethod
    def from_env(cls, env: EnvReader, *, default_cache_dir: str = "") -> RegistrySettings:
        url = env.str("FINK_SCHEMA_REGISTRY_URL", "").rstrip("/")
        env.check(
            not url or url.startswith(("http://", "https://")),
            f"FINK_SCHEMA_REGISTRY_URL={url!r} is not an http:// or https:// URL",
        )
        return cls(
            url=url,
            cache_dir=env.str("FINK_SCHEMA_CACHE_DIR", default_cache_dir),
            timeout_s=env.float("FINK_SCHEMA_REGISTRY_TIMEOUT", 10.0, minimum=0.1),
            retry_s=env.float("FINK_SCHEMA_REGISTRY_RETRY", 180.0, minimum=0.0),
        )


Fallback = Callable[[int], "Mapping[str, Any] | None"]


class SchemaResolver:
    """Writer schema JSON by schema id (see the module doc for the order of the sources)."""

    def __init__(self, settings: RegistrySettings, fallback: Fallback, *, label: str = "schema") -> None:
        self.settings = settings
        self._fallback = fallback
        self._label = label
        self._memory: dict[int, dict[str, Any]] = {}
        self.sources: dict[int, str] = {}  # id -> where it came from: memory is not a source

    def schema(self, schema_id: int) -> dict[str, Any]:
        found = self._memory.get(schema_id)
        if found is not None:
            return found
        found, source = self._find(schema_id)
        self._memory[schema_id] = found
        self.sources[schema_id] = source
        return found

    def _find(self, schema_id: int) -> tuple[dict[str, Any], str]:
        cached = self._read_cache(schema_id)
        if cached is not None:
            return cached, "cache"
        if self.settings.url:
            fetched = self._fetch(schema_id)
            if fetched is not None:
                self._write_cache(schema_id, fetched)
                return fetched, "registry"
        packaged = self._fallback(schema_id)
        if packaged is not None:
            return dict(packaged), "package"
        where = f"the registry {self.settings.url} and " if self.settings.url else ""
        raise UnknownSchemaError(f"unknown {self._label} id {schema_id}: {where}the installed schemas do not know it")

    # ------------------------------------------------------------------ disk cache

    def _cache_path(self, schema_id: int) -> Path | None:
        """`<cache_dir>/<registry>/<id>.avsc`: ids are a registry's own numbering, so each has its folder."""
        if not self.settings.cache_dir or not self.settings.url:
            return None
        registry = hashlib.sha256(self.settings.url.encode()).hexdigest()[:16]
        return Path(self.settings.cache_dir) / registry / f"{schema_id}.avsc"

    def _read_cache(self, schema_id: int) -> dict[str, Any] | None:
        path = self._cache_path(schema_id)
        if path is None or not path.is_file():
            return None
        try:
            return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]
        except (OSError, json.JSONDecodeError):
            return None  # a torn or unreadable cache file is fetched again, then rewritten

    def _write_cache(self, schema_id: int, schema: Mapping[str, Any]) -> None:
        path = self._cache_path(schema_id)
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(schema), encoding="utf-8")
        os.replace(tmp, path)  # atomic: readers see the whole file or none

    # ------------------------------------------------------------------ registry

    def _fetch(self, schema_id: int) -> dict[str, Any] | None:
        """The registry's schema for the id; None on 404; ServiceUnavailableError once retries are spent."""
        fetch = io_retry(max_delay_s=self.settings.retry_s, on=(ServiceUnavailableError,))(self._get)
        return fetch(schema_id)

    def _get(self, schema_id: int) -> dict[str, Any] | None:
        url = f"{self.settings.url}/schemas/ids/{schema_id}"
        request = urllib.request.Request(url, headers={"Accept": "application/vnd.schemaregistry.v1+json"})
        try:
            with urllib.request.urlopen(request, timeout=self.settings.timeout_s) as response:  # noqa: S310
                body = response.read()
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            if exc.code >= 500 or exc.code == 429:
                raise ServiceUnavailableError(f"schema registry {url}: HTTP {exc.code}") from exc
            raise SchemaError(f"schema registry {url}: HTTP {exc.code} {exc.reason}") from exc
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            raise ServiceUnavailableError(f"schema registry {url} unreachable: {exc}") from exc
        try:
            answer = json.loads(body)
            schema_type = answer.get("schemaType", "AVRO")
            if schema_type != "AVRO":
                raise SchemaError(f"schema registry {url}: schema {schema_id} is {schema_type}, not AVRO")
            return json.loads(answer["schema"])  # type: ignore[no-any-return]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise SchemaError(f"schema registry {url}: not a Confluent schema answer ({exc})") from exc
