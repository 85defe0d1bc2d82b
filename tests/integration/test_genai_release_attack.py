"""No client can roll a release back (issue 20): the genai-release workflow on the local cloud
promotes a good version while every hostile request found so far goes through live, over and
over, at least 1,000 of them run by the new version. Its own cloud (one local cloud per module):
three canary steps (10 %, 50 %, 90 %) and 100 % of 30 s each (bake 3,000 s at the local time
scale of 0.01) give the requests time (about 30 ms each on the local cloud).

Bedrock and the PetClinic services are local stand-ins; alarms are evaluated by the local
CloudWatch stand-in (simulators/cloudwatch.py) from the function's own metrics.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from petclinic_local import genai
from petclinic_local.cloud import LocalCloud

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("genai-release-attack")]


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud(parameters={"GenAiBakeSeconds": "3000", "GenAiCanarySteps": "10,50,90"}) as local:
        yield local


def test_a_good_version_is_promoted_while_hostile_requests_hit_it(cloud: LocalCloud) -> None:
    """Refusals are not server errors nor fallbacks: the alarms stay quiet."""
    version = genai.publish_version(cloud, {"MAX_TOKENS": "400"}, "good")
    outcome = genai.release(cloud, version, hostile=True, timeout=600)
    attack = outcome["hostile"]
    assert (outcome["status"], outcome["result"]) == ("SUCCEEDED", "SUCCEEDED"), (outcome, attack)
    assert outcome["alarmsFired"] == []
    assert attack["onNewVersion"] >= 1000, attack
    assert attack["kindsOnNewVersion"] == len(genai.hostile_requests())
    assert attack["serverErrors"] == 0
    assert attack["unexpected"] == []
    assert outcome["traffic"]["non2xx"] == 0
    assert not any(o["lastName"] == "Evil" for o in cloud.petclinic_http.data.owners.values())
