"""A local imitation of the Ontraport REST API v1 for tests, benchmarks and demos.

    from ontraport_sandbox import Sandbox, Fault

    with Sandbox(seed=1, rate_limit=180) as sb:
        requests.get(f"{sb.url}/Contacts", headers={"Api-Appid": "sandbox", "Api-Key": "sandbox"})

Standard library only; see docs/sandbox.md for what it models and what it does not.
"""

from .api import CollectionRequest
from .faults import Fault
from .ratelimit import OtherTool, RateScenario
from .server import Sandbox

__all__ = ["Sandbox", "Fault", "CollectionRequest", "RateScenario", "OtherTool"]
