"""The Singer SDK's standard tap tests, offline against the sandbox.

The SDK builds the tap (and so discovers) while pytest collects this module, so the
sandbox starts here, at import, not in a fixture.
"""

from singer_sdk.testing import SuiteConfig, get_tap_test_class

from ontraport_sandbox import Sandbox
from tap_ontraport.tap import TapOntraport
from tests.tap.conftest import FAST_LIMIT, sandbox_config

SANDBOX = Sandbox(rate_limit=FAST_LIMIT).start()

TestTapOntraport = get_tap_test_class(
    tap_class=TapOntraport,
    config=sandbox_config(SANDBOX, start_date="2019-01-01T00:00:00Z"),
    suite_config=SuiteConfig(max_records_limit=60),
)
