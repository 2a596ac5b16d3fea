"""Code that runs inside SageMaker containers (packaged as sourcedir.tar.gz)."""
