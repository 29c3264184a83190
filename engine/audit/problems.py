"""What verify finds: a problem names its kind of tamper (in Chinese, for auditors) and, when known, the event."""

from __future__ import annotations

from dataclasses import dataclass

KIND_LABELS = {
    "deployment": "部署文件被改动",
    "facts": "申请书信息被改动",
    "chain": "哈希链断裂",
    "checkpoint": "与签名检查点不符",
    "log": "检查点日志异常",
    "replay": "重放不一致",
    "state": "流程状态被改动",
    "index": "索引与重放不一致",
    "bundle": "审计包不一致",
}


@dataclass(frozen=True)
class Problem:
    kind: str  # a key of KIND_LABELS
    message: str
    seq: int | None = None  # the first event concerned, when there is one

    @property
    def label(self) -> str:
        return KIND_LABELS[self.kind]

    def __str__(self) -> str:
        return f"【{self.label}】{self.message}"
