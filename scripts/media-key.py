"""The key media URLs are signed with: made on the first deploy, then reused.

Usage: python media-key.py SECRET_NAME   (boto3's usual credentials and region)

Reads the RSA private key from the Secrets Manager secret SECRET_NAME, or makes one with openssl and stores it there
(it never touches the disk), and prints the base64 body of its public half on one line: the template's MediaPublicKey.
"""

import subprocess
import sys

import boto3


def main(name: str) -> None:
    secrets = boto3.client("secretsmanager")
    try:
        pem = secrets.get_secret_value(SecretId=name)["SecretString"]
    except secrets.exceptions.ResourceNotFoundException:
        pem = subprocess.run(["openssl", "genrsa", "2048"], capture_output=True, check=True, text=True).stdout
        secrets.create_secret(
            Name=name,
            SecretString=pem,
            Description="Framelift: the private key CloudFront media URLs are signed with (its public half is in the key group)",
        )
    public = subprocess.run(["openssl", "rsa", "-pubout"], input=pem, capture_output=True, check=True, text=True).stdout
    print("".join(line for line in public.splitlines() if not line.startswith("-----")))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
