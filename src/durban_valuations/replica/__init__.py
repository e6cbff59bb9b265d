"""A local replica of eThekwini's valuation-roll website, for offline scraper tests.

It imports nothing from the rest of the project, because it stands for the outside world.
"""

from durban_valuations.replica.app import RequestRecord, create_app
from durban_valuations.replica.config import ReplicaConfig
from durban_valuations.replica.fault_config import BurstConfig, FaultConfig, FirewallConfig
from durban_valuations.replica.generate import DEFAULT_ROWS, generate_roll
from durban_valuations.replica.ground_truth import GROUND_TRUTH_KEYS, export_ground_truth
from durban_valuations.replica.mutate import PropertyChange, describe_changes, mutate_roll
from durban_valuations.replica.roll import Property, ReplicaRoll
from durban_valuations.replica.server import RunningReplica, running_replica, serve

__all__ = [
    "DEFAULT_ROWS",
    "GROUND_TRUTH_KEYS",
    "BurstConfig",
    "FaultConfig",
    "FirewallConfig",
    "Property",
    "PropertyChange",
    "ReplicaConfig",
    "ReplicaRoll",
    "RequestRecord",
    "RunningReplica",
    "create_app",
    "describe_changes",
    "export_ground_truth",
    "generate_roll",
    "mutate_roll",
    "running_replica",
    "serve",
]
