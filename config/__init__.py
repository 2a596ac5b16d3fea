"""Per-environment configuration: one YAML file per environment, validated at synth."""

from config.loader import ConfigError, available_environments, load_environment
from config.schema import EnvironmentConfig

__all__ = ["ConfigError", "EnvironmentConfig", "available_environments", "load_environment"]
