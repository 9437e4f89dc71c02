"""The project's own FX market simulator (TrueFX may not be redistributed): a seeded market model for the 15
TrueFX pairs, labelled manipulation scenarios, a TrueFX history file writer and a live wall-clock mode."""

from fxtrue.simulator.files import LABELS_FILE, file_name, simulate_files
from fxtrue.simulator.live import LiveSimulator
from fxtrue.simulator.market import Chunk, MarketModel, activity, is_open
from fxtrue.simulator.scenarios import (KINDS, Scenario, default_schedule, live_schedule, load, read_labels,
                                        save, write_labels)

__all__ = ["Chunk", "KINDS", "LABELS_FILE", "LiveSimulator", "MarketModel", "Scenario", "activity",
           "default_schedule", "file_name", "is_open", "live_schedule", "load", "read_labels", "save",
           "simulate_files", "write_labels"]
