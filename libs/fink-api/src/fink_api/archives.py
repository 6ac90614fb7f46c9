"""The archive reader of each survey: `Archive` (ZTF) or `LsstArchive` (Rubin/LSST)."""

from __future__ import annotations

from fink_api.archive import Archive
from fink_api.lsst import LsstArchive
from fink_archive.tables import ArchiveTables
from fink_common.hbase import HBaseClient

__all__ = ["ARCHIVE_READERS", "open_archive"]

#: Survey -> the class that reads its archive.
ARCHIVE_READERS: dict[str, type[Archive]] = {"ztf": Archive, "lsst": LsstArchive}


def open_archive(client: HBaseClient, tables: ArchiveTables) -> Archive:
    return ARCHIVE_READERS[tables.survey](client, tables)
