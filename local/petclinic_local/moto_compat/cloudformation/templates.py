"""Templates as CloudFormation reads them: a TemplateURL to a missing object refused, Fn::GetAZs of
the stack's own region, and every template parsed once (LibYAML, cached by its text).
"""

from __future__ import annotations

import copy
from typing import Any
from unittest import mock

from petclinic_local.moto_compat.gap import Gap, Hooks, Patches


def _cfn_template_url_missing(_: Hooks) -> Patches:
    from moto.cloudformation.exceptions import ValidationError  # noqa: PLC0415
    from moto.cloudformation.responses import CloudFormationResponse  # noqa: PLC0415

    original = CloudFormationResponse._get_stack_from_s3_url

    def get_stack_from_s3_url(self: Any, template_url: str) -> str:
        try:
            return str(original(self, template_url))
        except AttributeError as exc:  # the S3 object is missing: moto reads .value of None
            raise ValidationError(
                message="TemplateURL must reference a valid S3 object to which you have access."
            ) from exc

    yield mock.patch.object(CloudFormationResponse, "_get_stack_from_s3_url", get_stack_from_s3_url)


class _FastYaml:
    """What moto's CloudFormation calls on the ``yaml`` module, with LibYAML's parser (the same
    constructors: moto's tag constructor for the short intrinsics) and parsed templates cached by
    their text (a deep copy each time: moto edits what it gets)."""

    def __init__(self) -> None:
        import yaml  # noqa: PLC0415

        class Loader(yaml.CLoader):  # type: ignore[misc]
            pass

        self.Loader = Loader
        self._cache: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        import yaml  # noqa: PLC0415

        return getattr(yaml, name)

    def add_multi_constructor(self, prefix: str, constructor: Any, Loader: Any = None) -> None:
        self.Loader.add_multi_constructor(prefix, constructor)

    def load(self, stream: Any, Loader: Any = None) -> Any:
        import yaml  # noqa: PLC0415

        if not isinstance(stream, str):
            return yaml.load(stream, Loader=self.Loader)  # noqa: S506 - moto's own choice (tags)
        if stream not in self._cache:
            self._cache[stream] = yaml.load(stream, Loader=self.Loader)  # noqa: S506 - as above
        return copy.deepcopy(self._cache[stream])


def _getazs_region(_: Hooks) -> Patches:
    from moto.cloudformation import parsing  # noqa: PLC0415

    original = parsing.clean_json

    def clean_json(resource_json: Any, resources_map: Any) -> Any:
        if isinstance(resource_json, dict) and set(resource_json) == {"Fn::GetAZs"}:
            region = resource_json["Fn::GetAZs"]
            if region in ("", None) or region == {"Ref": "AWS::Region"}:
                resource_json = {"Fn::GetAZs": resources_map._region_name}
        return original(resource_json, resources_map)

    yield mock.patch.object(parsing, "clean_json", clean_json)


def _template_parsing(hooks: Hooks) -> Patches:
    from moto.cloudformation import models, responses  # noqa: PLC0415
    from moto.cloudformation.utils import yaml_tag_constructor  # noqa: PLC0415

    fast = _FastYaml()
    fast.add_multi_constructor("", yaml_tag_constructor)
    yield mock.patch.object(models, "yaml", fast)
    yield mock.patch.object(responses, "yaml", fast)


GAPS = (
    Gap(
        "cfn-template-url-missing",
        "A TemplateURL naming an S3 object that does not exist fails with AttributeError (HTTP 500) "
        "where CloudFormation answers ValidationError 'TemplateURL must reference a valid S3 object "
        "to which you have access.'",
        "moto/cloudformation/utils.py get_stack_from_s3_url (key.value of a missing key)",
        ("cloudformation",),
        _cfn_template_url_missing,
    ),
    Gap(
        "cloudformation-getazs-region",
        "Fn::GetAZs \"\" (the stack's own region) gives us-east-1's zones whatever the region: subnets "
        "and Aurora instances land in zones of another region",
        "moto/cloudformation/parsing.py clean_json ('Fn::GetAZs' ... or DEFAULT_REGION)",
        ("cloudformation",),
        _getazs_region,
    ),
    Gap(
        "cloudformation-template-parsing",
        "every template is parsed by pure-Python PyYAML two to five times per change set or stack "
        "operation (about 0.3 s each for a PetClinic template): seconds per local cloud",
        "moto/cloudformation/models.py Stack._parse_template, ChangeSet._parse_template; "
        "responses.py get_template_summary_response_from_template (yaml.load with yaml.Loader)",
        ("cloudformation",),
        _template_parsing,
    ),
)
