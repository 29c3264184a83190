"""A deployment: the BPMN, forms and campaign files of one notice, parsed, identified by content hash.

Applications pin the deployment they started on, so a deployment can be rebuilt from its stored sources.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException

from .campaign import Campaign, check_windows, parse_campaign
from .errors import CampaignError, ConfigError
from .paths import bpmn_dir
from .spiff import ZhichengParser, spec_to_dict
from .stages import ProcessModel, build_model

DEFAULT_CAMPAIGN = "campaigns/cq-2020-senior.toml"
# The version of the Python that interprets a deployment, recorded with it when it is deployed. Bump it when
# a change would read an existing BPMN differently, and keep the old reading for deployments recorded earlier
# (engine/interpretations/). Version 1: before the stage model (a BPMN without lane `tier` properties).
# Version 3: lanes may name the org type that acts (`orgType`); a BPMN using it needs version 3 to be read,
# one that does not reads the same as under version 2 and is recorded as 2.
ENGINE_VERSION = 3


def content_hash(sources: dict[str, str]) -> str:
    """sha256 over the sorted (relative name, bytes) pairs: the deployment's identity."""
    digest = hashlib.sha256()
    for name in sorted(sources):
        data = sources[name].encode("utf-8")
        digest.update(name.encode("utf-8") + b"\0" + str(len(data)).encode() + b"\0" + data)
    return digest.hexdigest()


@dataclass
class Deployment:
    """Parsed specs, campaign and forms; `sources` are the files it was built from, by relative name."""

    id: str
    sources: dict[str, str]
    campaign: Campaign
    process_id: str
    spec: object
    subprocess_specs: dict
    forms: dict[str, dict] = field(default_factory=dict)
    model: ProcessModel | None = None
    _spec_json: dict | None = None

    @property
    def engine_version(self) -> int:
        """The engine version whose reading of the BPMN this deployment gets (1: pre-stage-model BPMN)."""
        if self.model is None:
            return ENGINE_VERSION
        if self.model.legacy:
            return 1
        return 3 if self.model.org_types else 2

    @property
    def spec_json(self) -> dict:
        if self._spec_json is None:
            self._spec_json = spec_to_dict(self.spec, self.subprocess_specs)
        return self._spec_json

    def task_spec(self, name: str):
        return self.spec.task_specs[name]

    def form_schema(self, stage: str) -> dict | None:
        props = self.task_spec(stage).extensions.get("properties", {})
        name = props.get("formJsonSchemaFilename")
        return self.forms.get(name) if name else None

    def ui_schema(self, stage: str) -> dict | None:
        props = self.task_spec(stage).extensions.get("properties", {})
        name = props.get("formUiSchemaFilename")
        return self.forms.get(name) if name else None


def read_sources(root: Path | None = None, campaign: str | Path | None = None) -> dict[str, str]:
    """Collect the files of a deployment from a bpmn folder: *.bpmn, forms/*.json and one campaign file."""
    root = Path(root or bpmn_dir())
    sources: dict[str, str] = {}
    for path in sorted(root.glob("*.bpmn")):
        sources[path.name] = path.read_text(encoding="utf-8")
    for path in sorted((root / "forms").glob("*.json")):
        sources[f"forms/{path.name}"] = path.read_text(encoding="utf-8")
    campaign_path = Path(campaign) if campaign else root / DEFAULT_CAMPAIGN
    if not campaign_path.is_absolute() and not campaign_path.exists():
        campaign_path = root / campaign_path
    sources[f"campaigns/{campaign_path.name}"] = campaign_path.read_text(encoding="utf-8")
    if not any(name.endswith(".bpmn") for name in sources):
        raise ConfigError("没有找到 BPMN 文件 (no *.bpmn files)", file=str(root))
    return sources


def build_deployment(sources: dict[str, str]) -> Deployment:
    """Parse a deployment from its sources; raises ConfigError naming the file on any problem."""
    campaign_names = [n for n in sources if n.startswith("campaigns/")]
    if len(campaign_names) != 1:
        raise ConfigError(
            f"一个部署需要且只能有一个活动文件，找到 {len(campaign_names)} 个 (need exactly one campaign file)"
        )
    campaign = parse_campaign(sources[campaign_names[0]], source=campaign_names[0])
    parser = ZhichengParser()
    for name, text in sources.items():
        if name.endswith(".bpmn"):
            try:
                parser.add_bpmn_xml(etree.fromstring(text.encode("utf-8")), filename=name)
            except etree.XMLSyntaxError as exc:
                raise ConfigError(f"XML 格式错误：{exc}", file=name, line=exc.lineno) from exc
            except ValidationException as exc:
                raise ConfigError(str(exc), file=name, line=getattr(exc, "line_number", None)) from exc
    documents = []
    for name, text in sources.items():
        if name.endswith(".bpmn"):
            documents.append((name, etree.fromstring(text.encode("utf-8"))))
    model = build_model(documents, campaign.process_id)
    if model.problems:
        first = model.problems[0]
        raise ConfigError(
            "流程图不完整：" + "；".join(f"{p.element_id}：{p.message}" for p in model.problems),
            file=first.file,
            line=first.line or None,
        )
    window_problems = check_windows(campaign, model)
    if window_problems:
        raise CampaignError(window_problems, file=campaign.source_path)
    try:
        spec = parser.get_spec(campaign.process_id)
        subprocess_specs = parser.get_subprocess_specs(campaign.process_id)
    except ValidationException as exc:
        raise ConfigError(
            str(exc), file=getattr(exc, "file_name", None), line=getattr(exc, "line_number", None)
        ) from exc
    forms = {}
    for name, text in sources.items():
        if name.startswith("forms/"):
            try:
                forms[name.removeprefix("forms/")] = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"JSON 格式错误：{exc.msg}", file=name, line=exc.lineno) from exc
    return Deployment(
        id=content_hash(sources),
        sources=dict(sources),
        campaign=campaign,
        process_id=campaign.process_id,
        spec=spec,
        subprocess_specs=subprocess_specs,
        forms=forms,
        model=model,
    )


def load_deployment(root: Path | None = None, campaign: str | Path | None = None) -> Deployment:
    """The deployment in a bpmn folder (default: the shipped one)."""
    return build_deployment(read_sources(root, campaign))
