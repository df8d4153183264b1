"""Redrives the transcoder's failure queue: every record Lambda put there (an event that failed all its retries) is
handed back to the transcode function as an asynchronous invocation, then removed from the queue. The function reads a
record's `requestPayload` as the event it failed on; an event that fails again returns to the queue after its retries.

Where things are: the stack's outputs `TranscodeFailureQueueUrl` and `TranscodeFunctionName` (stack STACK_NAME, default
framelift), or FRAMELIFT_FAILURE_QUEUE_URL and FRAMELIFT_TRANSCODE_FUNCTION. AWS_ENDPOINT_URL_SQS and
AWS_ENDPOINT_URL_LAMBDA point boto3 elsewhere than AWS (the staged world's tests do).

Usage: make redrive   (or: python scripts/redrive.py [--dry-run])
"""

import json
import os
import sys

import boto3


def client(service):
    # AWS_REGION as deploy.sh takes it; botocore alone reads only AWS_DEFAULT_REGION and the profile.
    return boto3.client(service, region_name=os.environ.get("AWS_REGION") or None)


def locate():
    queue, function = os.environ.get("FRAMELIFT_FAILURE_QUEUE_URL"), os.environ.get("FRAMELIFT_TRANSCODE_FUNCTION")
    if queue and function:
        return queue, function
    stack = os.environ.get("STACK_NAME", "framelift")
    described = client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
    missing = [k for k in ("TranscodeFailureQueueUrl", "TranscodeFunctionName") if k not in outputs]
    if missing:
        raise SystemExit(f"redrive: the stack {stack} has no output {', '.join(missing)}: deploy this version first")
    return queue or outputs["TranscodeFailureQueueUrl"], function or outputs["TranscodeFunctionName"]


def main():
    dry_run = "--dry-run" in sys.argv[1:]
    queue, function = locate()
    sqs, lambda_ = client("sqs"), client("lambda")
    redriven = 0
    while True:
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1, VisibilityTimeout=60).get("Messages", [])
        if not messages:
            break
        for message in messages:
            record = json.loads(message["Body"])
            context = record.get("requestContext", {})
            why = record.get("responsePayload") or {}
            print(f"{context.get('condition', '?')} after {context.get('approximateInvokeCount', '?')} attempts: "
                  f"{why.get('errorMessage', why) if isinstance(why, dict) else why}")
            if dry_run:
                continue
            lambda_.invoke(FunctionName=function, InvocationType="Event", Payload=json.dumps(record).encode())
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
            redriven += 1
        if dry_run:
            break
    print(f"redrive: {redriven} failed event(s) handed back to {function}" + (" (dry run: none)" if dry_run else ""))


if __name__ == "__main__":
    main()
