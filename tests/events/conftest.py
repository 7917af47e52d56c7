"""Events are emitted through the probe routes of tests/kit, on the real app."""

from tests.kit.conftest import probe_app, probe_client, probe_server

__all__ = ["probe_app", "probe_client", "probe_server"]
