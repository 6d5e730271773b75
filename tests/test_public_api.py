"""The public surface is pinned: changing it is a deliberate act."""

import batterytrace


def test_exported_names() -> None:
    assert sorted(batterytrace.__all__) == [
        "BatchResult", "BatterytraceError", "Ledger", "Receipt", "RuleViolationError", "SignedEvent",
        "StorageError", "VerificationError", "sign_event",
    ]
    for name in batterytrace.__all__:
        assert getattr(batterytrace, name) is not None


def test_error_names_end_in_error() -> None:
    from batterytrace import errors

    for name in errors.__all__:
        assert name.endswith("Error")
        assert issubclass(getattr(errors, name), errors.BatterytraceError)
