"""AWS identifier formats used by both the portfolio loader and the publisher's manifest check.

One definition, so a portfolio file and the manifest built from it are held to the same rules.
Patterns are anchored; `match` and `fullmatch` agree on them.
"""

from __future__ import annotations

import re

PARTITION = r"aws|aws-cn|aws-us-gov"
OU_ID = re.compile(r"^ou-[0-9a-z]{4,32}-[0-9a-z]{8,32}$")
ROOT_ID = re.compile(r"^r-[0-9a-z]{4,32}$")
ORG_ID = re.compile(r"^o-[a-z0-9]{10,32}$")
ACCOUNT_ID = re.compile(r"^\d{12}$")
IAM_NAME = r"([\w+=,.@-]+/)*[\w+=,.@-]{1,128}"
IAM_ARN = re.compile(rf"^arn:({PARTITION}):iam::\d{{12}}:(role|user|group)/{IAM_NAME}$")
IAM_PATTERN_ARN = re.compile(rf"^arn:({PARTITION}):iam:::(role|user|group)/[\w+=,.@*?/-]+$")
ROLE_ARN = re.compile(rf"^arn:({PARTITION}):iam::\d{{12}}:role/{IAM_NAME}$")
ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")
# OrganizationNode types of a portfolio share and the values each takes.
SHARE_VALUE = {"ORGANIZATION": ORG_ID, "ORGANIZATIONAL_UNIT": OU_ID, "ACCOUNT": ACCOUNT_ID}
