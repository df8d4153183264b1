"""moto_server for the adapter tests, with one correction to its S3 wire format.

moto (5.2.x) answers ListParts and CompleteMultipartUpload with `<ListPartsResponse>` and
`<CompleteMultipartUploadResponse>` root elements; S3 answers `<...Result>`, and aws-sdk-rust's strict XML parser
refuses anything else. This wrapper renames those root elements and otherwise runs moto's own server unchanged:
`python3 moto_server.py -H 127.0.0.1 -p PORT`.
"""
import sys

from moto.s3.responses import S3Response
from moto.server import main

RENAMED = ("ListParts", "CompleteMultipartUpload")
_serialized = S3Response.serialized


def serialized(self, *args, **kwargs):
    status, headers, body = _serialized(self, *args, **kwargs)
    action = self.data.get("Action") if isinstance(getattr(self, "data", None), dict) else None
    if action in RENAMED:
        wrong, right = f"{action}Response", f"{action}Result"
        if isinstance(body, bytes):
            body = body.replace(wrong.encode(), right.encode())
        elif isinstance(body, str):
            body = body.replace(wrong, right)
        for h in ("Content-Length", "content-length"):
            headers.pop(h, None)
    return status, headers, body


S3Response.serialized = serialized

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
