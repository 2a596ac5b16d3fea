"""Stand-in for the SageMaker XGBoost image's package of that name (not published on PyPI).

Only ``training`` is here, for script mode; tests/support/training_toolkit.py puts this folder
on the toolkit's path, so ``SAGEMAKER_TRAINING_MODULE`` keeps the image's value.
"""
