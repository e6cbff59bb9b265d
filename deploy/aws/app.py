"""Entry point of the CDK app: `cdk deploy` runs `python3 app.py` (see cdk.json).

- `cdk deploy DurbanValuations-Registry`: the image repository and the GitHub deploy role,
  once per account, before the first image is pushed.
- `cdk deploy DurbanValuations-staging -c environment=staging -c image_tag=TAG`: one
  environment, running the image TAG from that repository.
"""

from __future__ import annotations

import sys

import aws_cdk as cdk
from durban_valuations_aws.app import build_app
from durban_valuations_aws.config import ConfigError

if __name__ == "__main__":
    try:
        build_app(cdk.App()).synth()
    except ConfigError as error:
        sys.exit(f"error: {error}")
