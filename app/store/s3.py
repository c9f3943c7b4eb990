"""An S3-compatible object store backend (AWS S3, MinIO, s3proxy, Ceph RGW, R2, …).

Keys follow the GOPROXY layout under an optional prefix, like the filesystem
store. The immutability promise is kept in three layers, because servers
differ in how atomic their conditional writes are:

1. every first write is a conditional put (``If-None-Match: *``): on servers
   that implement it atomically (AWS S3, MinIO) exactly one writer wins, on
   any number of hosts; a server that answers ``NotImplemented`` is remembered
   and written to HEAD-then-put instead;
2. writers on one host take a file lock per key around HEAD, put and check
   (two workers of one pod never race, even on a server whose conditional
   check is not atomic, such as s3proxy);
3. after a put the object is read back (HEAD) and its sha256 metadata compared
   with ours, so a writer that lost a race it could not prevent says so
   (ImmutableConflict) instead of claiming the key.

What remains: on a server without atomic conditional writes, two writers on
two hosts writing different bytes within the same few milliseconds can both
pass the check, and the later one replaces the earlier one's object; the
earlier one's read-back sees that and raises ImmutableConflict. docs/storage.md
says which servers this concerns.

An object only becomes visible once its upload completes (a single PUT, or
the completion of a multipart upload), so nothing partial is ever served.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from app.locks import key_lock
from app.store.base import (
    CHUNK,
    ArtifactMissing,
    ArtifactStore,
    ImmutableConflict,
    PutResult,
    StoredObject,
    StoreError,
    artifact_key,
    list_key,
)

log = logging.getLogger("depot.store.s3")

# Object metadata (x-amz-meta-sha256) holding the hex sha256 of the bytes.
SHA_META = "sha256"
CONTENT_TYPES = {"info": "application/json", "mod": "text/plain; charset=utf-8",
                 "zip": "application/zip", "list": "text/plain; charset=utf-8"}
MIB = 1 << 20


@dataclass(frozen=True)
class S3Options:
    """How to reach the server; credentials come from boto3's own chain (environment)."""

    # Endpoint URL (http://127.0.0.1:9000); empty: AWS's own endpoint for the region.
    endpoint: str = ""
    region: str = ""
    # Files at least this big are sent as a multipart upload of part_size pieces.
    multipart_threshold: int = 64 * MIB
    part_size: int = 16 * MIB


def parse_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/optional/prefix`` → (bucket, prefix without slashes at the ends)."""
    rest = url.removeprefix("s3://")
    bucket, _, prefix = rest.partition("/")
    if not bucket or "@" in bucket or ":" in bucket:
        raise StoreError(f"DEPOT_STORE: want s3://bucket[/prefix], not {url!r} "
                         "(credentials come from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)")
    return bucket, prefix.strip("/")


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def _status(exc: Exception) -> int:
    response = getattr(exc, "response", None) or {}
    return int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


def _is_missing(exc: Exception) -> bool:
    return _status(exc) == 404 or _error_code(exc) in ("404", "NoSuchKey", "NotFound")


def _lost_race(exc: Exception) -> bool:
    """The conditional write found the key taken (412), or lost to a concurrent one (409)."""
    return _status(exc) in (409, 412) or _error_code(exc) in (
        "PreconditionFailed", "ConditionalRequestConflict")


def _digests(path: Path) -> tuple[int, str, str]:
    """(size, sha256 hex, md5 base64) of a file, read once in chunks."""
    sha, md5, size = hashlib.sha256(), hashlib.md5(usedforsecurity=False), 0
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            sha.update(chunk)
            md5.update(chunk)
            size += len(chunk)
    return size, sha.hexdigest(), base64.b64encode(md5.digest()).decode()


def _md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()


class S3Store(ArtifactStore):
    def __init__(self, bucket: str, prefix: str = "", options: S3Options | None = None,
                 cache_dir: Path | None = None) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.options = options or S3Options()
        # Local scratch of this store: per-key write locks and the toolchain's mirror.
        self.cache_dir = cache_dir
        self._conditional = True  # until the server says it does not do If-None-Match
        self._clients: dict[int, Any] = {}
        self._guard = threading.Lock()
        self._mirror: Any = None

    # -- plumbing ------------------------------------------------------------------------

    @property
    def client(self) -> Any:
        """A boto3 client of this process (a forked worker must not share sockets)."""
        pid = os.getpid()
        with self._guard:
            found = self._clients.get(pid)
            if found is None:
                self._clients = {pid: self._make_client()}
                found = self._clients[pid]
            return found

    def _make_client(self) -> Any:
        import boto3
        from botocore.config import Config

        config = Config(
            signature_version="s3v4",
            # Path-style URLs (http://host/bucket/key) work on every S3-compatible server.
            s3={"addressing_style": "path" if self.options.endpoint else "auto"},
            # Only the checksums S3 requires: many S3-compatible servers refuse the newer
            # default ones; our own Content-MD5 and sha256 read-back guard the bytes.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            retries={"mode": "standard", "max_attempts": 4},
            # An unreachable store must fail a request (and /readyz) in seconds, not minutes.
            connect_timeout=5,
            read_timeout=30,
            max_pool_connections=32,
        )
        return boto3.session.Session().client(
            "s3", endpoint_url=self.options.endpoint or None,
            region_name=self.options.region or None, config=config,
        )

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def describe(self) -> str:
        where = self.options.endpoint or "AWS"
        return f"s3://{self.bucket}/{self.prefix} at {where}".replace("/ at", " at")

    @contextmanager
    def _locked(self, key: str) -> Iterator[None]:
        """One writer per key on this host (files in the cache dir), else per process."""
        if self.cache_dir is None:
            with self._guard_for(key):
                yield
            return
        lock_dir = self.cache_dir / "locks"
        lock_dir.mkdir(parents=True, exist_ok=True)
        with self._guard_for(key), key_lock(lock_dir, f"s3:{self.bucket}:{self._key(key)}",
                                            timeout=300):
            yield

    _key_guards: dict[str, threading.Lock] = {}
    _key_guards_lock = threading.Lock()

    def _guard_for(self, key: str) -> threading.Lock:
        full = f"{self.bucket}/{self._key(key)}"
        with self._key_guards_lock:
            return self._key_guards.setdefault(full, threading.Lock())

    def _head(self, key: str) -> dict | None:
        try:
            return self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except Exception as exc:
            if _is_missing(exc):
                return None
            raise StoreError(f"{key}: HEAD on the object store failed: {exc}") from exc

    def _stored_sha256(self, key: str, head: dict) -> str:
        """The sha256 the object carries in its metadata, else computed from its bytes."""
        found = (head.get("Metadata") or {}).get(SHA_META, "")
        if found:
            return found
        digest = hashlib.sha256()
        with self._get(key) as body:
            while chunk := body.read(CHUNK):
                digest.update(chunk)
        return digest.hexdigest()

    def _settle(self, key: str, head: dict, size: int, sha256: str) -> PutResult:
        """The key is taken: identical bytes are a no-op, different ones a conflict."""
        stored = self._stored_sha256(key, head)
        if stored != sha256:
            raise ImmutableConflict(key, stored, sha256)
        return PutResult(key, size, sha256, created=False)

    # -- writes --------------------------------------------------------------------------

    def _put(self, key: str, size: int, sha256: str, send: Any) -> PutResult:
        """HEAD, conditional write, read back; ``send(conditional)`` uploads the bytes."""
        with self._locked(key):
            head = self._head(key)
            if head is not None:
                return self._settle(key, head, size, sha256)
            try:
                send(self._conditional)
            except Exception as exc:
                if _lost_race(exc):
                    head = self._settled_head(key)
                    if head is not None:
                        return self._settle(key, head, size, sha256)
                if _error_code(exc) == "NotImplemented" and self._conditional:
                    log.warning("%s does not do conditional writes (If-None-Match); writing "
                                "HEAD-then-put (see docs/storage.md)", self.describe())
                    self._conditional = False
                    return self._put_plain(key, size, sha256, send)
                raise StoreError(f"{key}: the object store refused the upload: {exc}") from exc
            return self._read_back(key, size, sha256)

    def _settled_head(self, key: str) -> dict | None:
        """HEAD after losing a conditional write: AWS answers 409 while the winner's upload
        is still completing, so the object may take a moment to appear."""
        for delay in (0.0, 0.1, 0.3, 1.0):
            time.sleep(delay)
            head = self._head(key)
            if head is not None:
                return head
        return None

    def _put_plain(self, key: str, size: int, sha256: str, send: Any) -> PutResult:
        head = self._head(key)
        if head is not None:
            return self._settle(key, head, size, sha256)
        try:
            send(False)
        except Exception as exc:
            raise StoreError(f"{key}: the object store refused the upload: {exc}") from exc
        return self._read_back(key, size, sha256)

    def _read_back(self, key: str, size: int, sha256: str) -> PutResult:
        head = self._head(key)
        stored = (head or {}).get("Metadata", {}).get(SHA_META, "")
        if stored != sha256:
            # Another host wrote the key between our check and our write, and the server
            # did not stop one of us: whatever is there now is what stays.
            log.error("%s: overwritten by a concurrent writer on a server without atomic "
                      "conditional writes (now sha256 %s)", key, stored or "unknown")
            raise ImmutableConflict(key, stored or "unknown", sha256)
        return PutResult(key, size, sha256, created=True)

    def put_bytes(self, module: str, version: str, kind: str, data: bytes) -> PutResult:
        key = artifact_key(module, version, kind)
        sha256 = hashlib.sha256(data).hexdigest()

        def send(conditional: bool) -> None:
            extra = {"IfNoneMatch": "*"} if conditional else {}
            self.client.put_object(
                Bucket=self.bucket, Key=self._key(key), Body=data, ContentMD5=_md5_b64(data),
                ContentType=CONTENT_TYPES[kind], Metadata={SHA_META: sha256}, **extra)

        return self._put(key, len(data), sha256, send)

    def put_file(self, module: str, version: str, kind: str, src: Path) -> PutResult:
        key = artifact_key(module, version, kind)
        size, sha256, md5 = _digests(src)

        def send(conditional: bool) -> None:
            if size >= self.options.multipart_threshold:
                self._multipart(key, kind, src, sha256, conditional)
                return
            extra = {"IfNoneMatch": "*"} if conditional else {}
            with open(src, "rb") as body:  # botocore sends a file in pieces
                self.client.put_object(
                    Bucket=self.bucket, Key=self._key(key), Body=body, ContentLength=size,
                    ContentMD5=md5, ContentType=CONTENT_TYPES[kind],
                    Metadata={SHA_META: sha256}, **extra)

        return self._put(key, size, sha256, send)

    def _multipart(self, key: str, kind: str, src: Path, sha256: str, conditional: bool) -> None:
        """Upload in parts (one part in memory at a time); visible only on completion.

        Done by hand rather than with s3transfer's upload_fileobj, which cannot send
        If-None-Match with the completion.
        """
        full = self._key(key)
        upload = self.client.create_multipart_upload(
            Bucket=self.bucket, Key=full, ContentType=CONTENT_TYPES[kind],
            Metadata={SHA_META: sha256})
        upload_id = upload["UploadId"]
        try:
            parts: list[dict[str, object]] = []
            with open(src, "rb") as fh:
                while piece := fh.read(self.options.part_size):
                    number = len(parts) + 1
                    sent = self.client.upload_part(
                        Bucket=self.bucket, Key=full, UploadId=upload_id, PartNumber=number,
                        Body=piece, ContentMD5=_md5_b64(piece))
                    parts.append({"PartNumber": number, "ETag": sent["ETag"]})
            extra = {"IfNoneMatch": "*"} if conditional else {}
            self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=full, UploadId=upload_id,
                MultipartUpload={"Parts": parts}, **extra)
        except BaseException:
            try:
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=full,
                                                   UploadId=upload_id)
            except Exception:  # the upload expires by the bucket's lifecycle rule anyway
                log.warning("%s: could not abort multipart upload %s", key, upload_id)
            raise

    def set_list(self, module: str, versions: list[str]) -> None:
        body = "".join(f"{v}\n" for v in versions).encode()
        self.client.put_object(Bucket=self.bucket, Key=self._key(list_key(module)), Body=body,
                               ContentMD5=_md5_b64(body), ContentType=CONTENT_TYPES["list"])

    # -- reads ---------------------------------------------------------------------------

    def _get(self, key: str, byte_range: str = "") -> BinaryIO:
        extra = {"Range": byte_range} if byte_range else {}
        try:
            found = self.client.get_object(Bucket=self.bucket, Key=self._key(key), **extra)
        except Exception as exc:
            if _is_missing(exc):
                raise ArtifactMissing(key) from None
            raise StoreError(f"{key}: GET on the object store failed: {exc}") from exc
        return found["Body"]  # botocore's StreamingBody: a file-like stream, never read whole

    def open_key(self, key: str) -> BinaryIO:
        """Any key of the tree (the mirror reads ``@v/list`` through this too)."""
        return self._get(key)

    def open(self, module: str, version: str, kind: str) -> BinaryIO:
        return self._get(artifact_key(module, version, kind))

    def stat(self, module: str, version: str, kind: str) -> StoredObject | None:
        key = artifact_key(module, version, kind)
        head = self._head(key)
        return None if head is None else StoredObject(key, int(head["ContentLength"]))

    def read_list(self, module: str) -> list[str] | None:
        try:
            with self._get(list_key(module)) as stream:
                return stream.read().decode().split()
        except ArtifactMissing:
            return None

    def iter_keys(self) -> Iterator[StoredObject]:
        start = f"{self.prefix}/" if self.prefix else ""
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=start)
        try:
            for page in pages:
                for item in page.get("Contents", []):
                    yield StoredObject(item["Key"][len(start):], int(item["Size"]))
        except Exception as exc:
            raise StoreError(f"listing bucket {self.bucket}: {exc}") from exc

    def check(self) -> str:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except Exception as exc:
            raise StoreError(f"bucket {self.bucket}: {exc}") from exc
        return f"bucket {self.bucket}"

    def stored_sha256(self, module: str, version: str, kind: str) -> str | None:
        """The sha256 kept in the object's metadata (None when absent)."""
        key = artifact_key(module, version, kind)
        head = self._head(key)
        return None if head is None else self._stored_sha256(key, head)

    def presigned_url(self, module: str, version: str, kind: str, expires: int) -> str | None:
        return self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket,
                                  "Key": self._key(artifact_key(module, version, kind))},
            ExpiresIn=expires)

    def goproxy_url(self) -> str | None:
        """A read-through mirror of this store for the go command (see s3mirror)."""
        if self.cache_dir is None:
            return None
        from app.store.s3mirror import Mirror

        with self._guard:
            if self._mirror is None or not self._mirror.alive():
                self._mirror = Mirror(self, self.cache_dir / "mirror")
            return self._mirror.url

    def close(self) -> None:
        with self._guard:
            if self._mirror is not None:
                self._mirror.stop()
                self._mirror = None
