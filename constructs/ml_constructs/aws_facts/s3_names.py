"""S3's general purpose bucket naming rules, which no botocore model carries (``BucketName`` is a
plain string there).

Source: "General purpose bucket naming rules",
https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
"""

from __future__ import annotations

import re

FORBIDDEN_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
FORBIDDEN_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def bucket_name_problem(name: str) -> str | None:
    """None for a valid name; otherwise the rule it breaks, in S3's words."""
    if not 3 <= len(name) <= 63:
        return f"{len(name)} characters; bucket names must be between 3 and 63 characters long"
    if not re.fullmatch(r"[a-z0-9.-]+", name):
        return "bucket names can consist only of lowercase letters, numbers, periods and hyphens"
    if not (name[0].isalnum() and name[-1].isalnum()):
        return "bucket names must begin and end with a letter or number"
    if ".." in name:
        return "bucket names must not contain two adjacent periods"
    if re.fullmatch(r"\d+\.\d+\.\d+\.\d+", name):
        return "bucket names must not be formatted as an IP address"
    prefix = next((prefix for prefix in FORBIDDEN_PREFIXES if name.startswith(prefix)), None)
    if prefix:
        return f"bucket names must not start with the prefix {prefix!r}"
    suffix = next((suffix for suffix in FORBIDDEN_SUFFIXES if name.endswith(suffix)), None)
    if suffix:
        return f"bucket names must not end with the suffix {suffix!r}"
    return None
