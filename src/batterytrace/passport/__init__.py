"""Battery passport: BatteryPass v1.2 aspects built from a pack's lineage and its OEM master data."""
