"""The few AWS facts this project cannot read from a machine-readable model, in one place.

Everything else comes from AWS's own references at test time: botocore's service models
(request shapes, enums, patterns, error shapes), the IAM Service Authorization Reference (through
a maintained library) and CloudFormation's schemas (cfn-lint). Each fact here names the
documentation it comes from, so a reviewer can check it and a test can hold the code to it.
"""
