"""Verify the hash-chained audit log; `audit_record` (the append) lives with the model."""

from hub.models.audit import SYSTEM_ACTOR, audit_record
from hub.services.audit.actions import KNOWN_ACTIONS, client_ip
from hub.services.audit.chain import ChainVerification, audit_chain_walk
from hub.services.audit.checkpoint import (
    ChainCheckpoint,
    CheckpointUnreadable,
    audit_checkpoint_read,
)
from hub.services.audit.verify import audit_chain_is_legacy, audit_chain_verify

__all__ = [
    "KNOWN_ACTIONS",
    "SYSTEM_ACTOR",
    "ChainCheckpoint",
    "ChainVerification",
    "CheckpointUnreadable",
    "audit_chain_is_legacy",
    "audit_chain_verify",
    "audit_chain_walk",
    "audit_checkpoint_read",
    "audit_record",
    "client_ip",
]
