"""Per-environment configuration: one YAML file per environment, validated at synth."""

from config.loader import ConfigError, available_environments, load_delivery, load_environment
from config.schema import DeliveryConfig, EnvironmentConfig

__all__ = ["ConfigError", "DeliveryConfig", "EnvironmentConfig", "available_environments", "load_delivery", "load_environment"]
