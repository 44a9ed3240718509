"""Uploads one file to GridWalk's tus endpoint with tuspy (`tusclient`).

Driven by crates/gridwalk-server/tests/tuspy.rs. Prints one JSON object on stdout:

    {"url": ..., "offset": ..., "resumed_from": ..., "posts": [...], "heads": [...],
     "patches": [{"offset", "length", "checksum", "status", "new_offset"}, ...],
     "error": null | {"status", "body", "message"}}

`posts` and `heads` are logged for the requests-based uploader only (the aiohttp one
creates its upload through aiohttp); `patches` for both.

Exit status 0 when the upload went as far as asked, 3 when tuspy raised (the error is
in the JSON), 2 on bad arguments.
"""

import argparse
import asyncio
import hashlib
import json
import sys

import requests
from tusclient import client
from tusclient.exceptions import TusCommunicationError
from tusclient.request import AsyncTusRequest
from tusclient.storage import filestorage
from tusclient.uploader import AsyncUploader, Uploader


class Sha256Uploader(Uploader):
    """tuspy's uploader with `Upload-Checksum: sha256 …` (tuspy's default is sha1)."""

    CHECKSUM_ALGORITHM_PAIR = ("sha256", hashlib.sha256)


class AsyncSha256Uploader(AsyncUploader):
    """tuspy's aiohttp uploader with sha256 checksums."""

    CHECKSUM_ALGORITHM_PAIR = ("sha256", hashlib.sha256)


def record_requests(log):
    """Wraps the `requests` calls tuspy makes so each request and answer is logged."""
    real_post, real_head, real_patch = requests.post, requests.head, requests.patch

    def post(url, **kw):
        resp = real_post(url, **kw)
        log["posts"].append(
            {
                "status": resp.status_code,
                "location": resp.headers.get("location"),
                "upload_offset": resp.headers.get("upload-offset"),
                "tus_resumable": resp.headers.get("tus-resumable"),
                "body": resp.text if resp.status_code >= 400 else None,
            }
        )
        return resp

    def head(url, **kw):
        resp = real_head(url, **kw)
        log["heads"].append(
            {"status": resp.status_code, "upload_offset": resp.headers.get("upload-offset")}
        )
        return resp

    def patch(url, data=None, headers=None, **kw):
        headers = headers or {}
        entry = {
            "offset": int(headers.get("upload-offset", -1)),
            "length": len(data or b""),
            "checksum": headers.get("upload-checksum"),
        }
        resp = real_patch(url, data=data, headers=headers, **kw)
        entry["status"] = resp.status_code
        entry["new_offset"] = resp.headers.get("upload-offset")
        log["patches"].append(entry)
        return resp

    # tuspy calls these as attributes of the `requests` module, so patch them there.
    requests.post, requests.head, requests.patch = post, head, patch

    # The aiohttp uploader sends each PATCH through AsyncTusRequest.perform.
    real_perform = AsyncTusRequest.perform

    async def perform(self):
        await real_perform(self)
        log["patches"].append(
            {
                "offset": int(self._request_headers["upload-offset"]),
                "length": self._content_length,
                "checksum": self._request_headers.get("upload-checksum"),
                "status": self.status_code,
                "new_offset": self.response_headers.get("upload-offset"),
            }
        )

    AsyncTusRequest.perform = perform


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--endpoint", required=True, help="creation URL, e.g. http://host/v1/photos")
    ap.add_argument("--token", required=True, help="device bearer token")
    ap.add_argument("--file", required=True)
    ap.add_argument("--sha256", required=True, help="hex SHA-256 declared in the metadata")
    ap.add_argument("--chunk-size", type=int, default=64 * 1024)
    ap.add_argument("--checksum", choices=["none", "sha256", "sha1"], default="sha256")
    ap.add_argument("--stop-at", type=int, default=None, help="stop the upload at this offset")
    ap.add_argument("--url-store", default=None, help="tuspy FileStorage path (resumability)")
    ap.add_argument("--retries", type=int, default=0)
    ap.add_argument("--async", dest="use_async", action="store_true",
                    help="use tuspy's aiohttp uploader instead of the requests one")
    args = ap.parse_args()

    log = {"url": None, "offset": None, "resumed_from": None,
           "posts": [], "heads": [], "patches": [], "error": None}
    record_requests(log)

    tus = client.TusClient(args.endpoint, headers={"Authorization": "Bearer " + args.token})
    if args.use_async:
        cls = AsyncSha256Uploader if args.checksum == "sha256" else AsyncUploader
    else:
        cls = Sha256Uploader if args.checksum == "sha256" else Uploader
    kwargs = dict(
        file_path=args.file,
        chunk_size=args.chunk_size,
        metadata={"sha256": args.sha256, "filename": args.file.rsplit("/", 1)[-1]},
        upload_checksum=args.checksum != "none",
        retries=args.retries,
        retry_delay=0,
    )
    storage = None
    if args.url_store:
        storage = filestorage.FileStorage(args.url_store)
        kwargs.update(store_url=True, url_storage=storage)
    status = 0
    uploader = None
    try:
        # With a stored URL the constructor asks the server for its offset (HEAD).
        uploader = cls(client=tus, **kwargs)
        if uploader.url:
            log["resumed_from"] = uploader.offset
        if args.use_async:
            asyncio.run(uploader.upload(stop_at=args.stop_at))
        else:
            uploader.upload(stop_at=args.stop_at)
    except TusCommunicationError as e:
        body = e.response_content
        if isinstance(body, bytes):
            body = body.decode("utf-8", "replace")
        log["error"] = {"status": e.status_code, "body": body, "message": str(e)}
        status = 3
    finally:
        if uploader is not None:
            log["url"] = uploader.url
            log["offset"] = uploader.offset
        if storage is not None:
            storage.close()
    json.dump(log, sys.stdout)
    sys.stdout.write("\n")
    return status


if __name__ == "__main__":
    sys.exit(main())
