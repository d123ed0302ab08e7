"""Endpoint groups of ``PartnerCenterClient``, one module per subject."""
