"""Verify the hash-chained audit log; `audit_record` (the append) lives with the model."""

from migrations_app.models.audit import SYSTEM_ACTOR, audit_record
from migrations_app.services.audit.actions import KNOWN_ACTIONS, client_ip
from migrations_app.services.audit.chain import ChainVerification, audit_chain_walk
from migrations_app.services.audit.checkpoint import (
    ChainCheckpoint,
    CheckpointUnreadable,
    audit_checkpoint_read,
)
from migrations_app.services.audit.verify import (
    audit_chain_is_legacy,
    audit_chain_verify,
    audit_keyed_chain_evidence,
)

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
    "audit_keyed_chain_evidence",
    "audit_record",
    "client_ip",
]
