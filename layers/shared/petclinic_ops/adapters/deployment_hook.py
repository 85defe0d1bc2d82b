"""The lifecycle hook's reads (domain.deployment_hook.HookPorts) on AWS: boto3 and Powertools
Parameters, imported on first use (nothing at import: cold starts).

- ``targets``: ECS DescribeServiceRevisions of the new revision and the one it replaces: each
  revision's ``resolvedConfiguration.loadBalancers`` names the target group it takes traffic in
  (the two swap roles from one deployment to the next, so the service's own ``targetGroupArn``
  cannot tell) and the production listener rule, whose ARN names the load balancer
  (``...:listener-rule/app/NAME/ID/...``).
- ``metrics``: adapters.canary_metrics.CloudWatchRevisionMetrics (GetMetricData).
- ``origin``: the service's base URL from Parameter Store (``<path><service>/url``, else the
  customers service's: one ALB is every service's origin) and the origin secret from Secrets
  Manager (``{"value": ...}``), both through Powertools Parameters providers cached
  ``max_age`` seconds.
- ``get``: one HTTP GET (urllib, a timeout, no redirects followed), the status whatever it is.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any

from petclinic_ops.adapters.canary_metrics import CloudWatchRevisionMetrics
from petclinic_ops.domain.deployment_hook import Origin
from petclinic_ops.models.deployment_hook import ServiceTargets

if TYPE_CHECKING:
    from petclinic_ops.settings import DeploymentHookSettings


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _ecs() -> Any:
    import boto3  # noqa: PLC0415 - lazy: no boto3 on the cold start

    return boto3.client("ecs")


class AwsHookPorts:
    """``HookPorts`` on AWS (see the module's docstring)."""

    def __init__(
        self,
        *,
        parameter_path: str,
        origin_secret: str,
        timeout_seconds: float = 5.0,
        max_age: int = 300,
    ) -> None:
        self.parameter_path = parameter_path
        self.origin_secret = origin_secret
        self.timeout_seconds = timeout_seconds
        self.max_age = max_age
        self._ssm: Any = None
        self._secrets: Any = None

    @classmethod
    def from_settings(cls, settings: DeploymentHookSettings) -> AwsHookPorts:
        return cls(
            parameter_path=settings.parameter_path,
            origin_secret=settings.origin_secret,
            timeout_seconds=settings.http_timeout_seconds,
        )

    @cached_property
    def metrics(self) -> CloudWatchRevisionMetrics:
        return CloudWatchRevisionMetrics()

    @cached_property
    def ecs(self) -> Any:
        return _ecs()

    def targets(self, new_revision: str, baseline_revision: str) -> ServiceTargets:
        found = {
            revision["serviceRevisionArn"]: revision
            for revision in self.ecs.describe_service_revisions(
                serviceRevisionArns=[new_revision, baseline_revision]
            ).get("serviceRevisions", [])
        }

        def served_by(revision: str) -> dict[str, Any]:
            resolved = ((found.get(revision) or {}).get("resolvedConfiguration") or {}).get("loadBalancers")
            if not resolved:
                raise LookupError(
                    f"service revision {revision}: ECS names no target group it takes traffic in "
                    "(not deployed by blue/green, canary or linear, or no such revision)"
                )
            return dict(resolved[0])

        new, baseline = served_by(new_revision), served_by(baseline_revision)
        rule = str(new.get("productionListenerRule") or baseline.get("productionListenerRule") or "")
        if ":listener-rule/app/" not in rule:
            raise LookupError(f"service revision {new_revision}: no production listener rule of an ALB")
        name, balancer_id = rule.split(":listener-rule/app/", 1)[1].split("/")[:2]
        return ServiceTargets(
            load_balancer=f"app/{name}/{balancer_id}",
            baseline_target_group=str(baseline["targetGroupArn"]),
            new_target_group=str(new["targetGroupArn"]),
        )

    def origin(self, service: str) -> Origin:
        if self._ssm is None:
            from aws_lambda_powertools.utilities.parameters import (  # noqa: PLC0415 - loads boto3
                SecretsProvider,
                SSMProvider,
            )

            self._ssm = SSMProvider()
            self._secrets = SecretsProvider()
        urls = self._ssm.get_multiple(self.parameter_path, max_age=self.max_age, recursive=True)
        url = urls.get(f"{service}/url") or urls.get("customers-service/url")
        if not url:
            raise LookupError(f"no origin URL in Parameter Store under {self.parameter_path}")
        raw = self._secrets.get(self.origin_secret, max_age=self.max_age)
        secret = json.loads(raw).get("value") if str(raw).lstrip().startswith("{") else raw
        if not secret:
            raise LookupError(f"the origin secret {self.origin_secret} has no value")
        return Origin(base_url=str(url), secret=str(secret))

    def get(self, url: str, headers: Mapping[str, str]) -> int:
        if not url.startswith(("http://", "https://")):
            raise OSError(f"not an HTTP URL: {url}")
        request = urllib.request.Request(url, headers=dict(headers), method="GET")  # noqa: S310 - checked above
        opener = urllib.request.build_opener(_NoRedirect)
        try:
            with opener.open(request, timeout=self.timeout_seconds) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            return int(error.code)
