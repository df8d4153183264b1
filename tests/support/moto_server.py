"""moto_server for the adapter tests, with three corrections where moto differs from the services.

1. S3's wire format: moto (5.2.x) answers ListParts and CompleteMultipartUpload with `<ListPartsResponse>` and
   `<CompleteMultipartUploadResponse>` root elements; S3 answers `<...Result>`, and aws-sdk-rust's strict XML parser
   refuses anything else. The root elements are renamed.
2. DynamoDB's atomic conditional writes: moto's server handles requests on many threads and checks a write's
   condition and applies it without a lock, so two of 100 racing conditional PutItems could both succeed (seen in a
   clean-clone run), which DynamoDB never allows. Writes are serialized here, as DynamoDB serializes writes to an
   item.
3. S3's event notifications: moto (5.2.x) leaves out `userIdentity`, `requestParameters`, `responseElements`, the
   bucket's `ownerIdentity` and the object's `sequencer`, which S3 always sends
   (https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html) and a strict parser
   (aws_lambda_events' `S3Event`) requires. They are added with S3's shapes.

Otherwise moto's own server runs unchanged: `python3 moto_server.py -H 127.0.0.1 -p PORT`.
"""
import sys
import threading
import time

from moto.dynamodb.models import DynamoDBBackend

from moto.s3 import notifications as s3_notifications
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

_writes = threading.Lock()


def _atomic(name):
    original = getattr(DynamoDBBackend, name)

    def locked(self, *args, **kwargs):
        with _writes:
            return original(self, *args, **kwargs)

    setattr(DynamoDBBackend, name, locked)


for _name in ("put_item", "update_item", "delete_item"):
    _atomic(_name)

_s3_event = s3_notifications._get_s3_event


def _complete_s3_event(event_name, bucket, key, notification_id):
    event = _s3_event(event_name, bucket, key, notification_id)
    for record in event["Records"]:
        record.setdefault("userIdentity", {"principalId": "AWS:AROASTAGEDPRINCIPAL:staged"})
        record.setdefault("requestParameters", {"sourceIPAddress": "127.0.0.1"})
        record.setdefault("responseElements", {"x-amz-request-id": "STAGED0000000000", "x-amz-id-2": "staged/request/id"})
        record["s3"]["bucket"].setdefault("ownerIdentity", {"principalId": "STAGEDOWNER"})
        record["s3"]["object"].setdefault("sequencer", format(time.time_ns(), "016X"))
    return event


s3_notifications._get_s3_event = _complete_s3_event

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
