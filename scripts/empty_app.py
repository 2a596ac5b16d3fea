"""The jsii floor: a one-stack, one-resource CDK app. scripts/bench.py compares synth against it.

EMPTY_APP_BUILTIN_VALIDATION=1 keeps CDK's built-in CloudFormation validation on, as a new CDK
app has it (about 1.8 s even for this app); the project turns it off (see app.py).
"""

import os

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import aws_cdk as cdk

app = cdk.App(builtin_cloud_formation_validation=os.environ.get("EMPTY_APP_BUILTIN_VALIDATION") == "1")
stack = cdk.Stack(app, "Empty")
cdk.CfnWaitConditionHandle(stack, "Placeholder")
app.synth()
