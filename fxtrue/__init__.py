"""FXTrue shared package: tick model, settings, Cassandra and Kafka access, detectors, CLI."""

__version__ = "0.1.0"
