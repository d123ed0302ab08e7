"""One module per step; each ends with its registry entry, `STEP`."""
