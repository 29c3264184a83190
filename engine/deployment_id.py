"""The content hash that names a deployed version of the policy files (BPMN, forms, campaign).

Running applications keep the hash they started with; the same files always give the same hash,
wherever the folder lives, because only the files' relative names and bytes are hashed.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path


def deployment_hash(bpmn_files: Iterable[Path], form_files: Iterable[Path], campaign_file: Path) -> str:
    """sha256 (hex) over the sorted (relative name, bytes) of every file.

    Names are `bpmn/<name>`, `forms/<name>` and `campaign/<name>`, so moving the folder, or listing
    the files in another order, does not change the hash; renaming or editing any file does.
    Raises OSError if a file cannot be read.
    """
    entries = [(f"bpmn/{Path(p).name}", Path(p)) for p in bpmn_files]
    entries += [(f"forms/{Path(p).name}", Path(p)) for p in form_files]
    entries.append((f"campaign/{Path(campaign_file).name}", Path(campaign_file)))
    names = [name for name, _ in entries]
    if len(set(names)) != len(names):
        raise ValueError(f"two files share a name: {sorted(n for n in names if names.count(n) > 1)}")
    digest = hashlib.sha256()
    for name, path in sorted(entries):
        data = path.read_bytes()
        encoded = name.encode("utf-8")
        # length-prefix both parts so no two different file sets can produce the same stream
        digest.update(len(encoded).to_bytes(8, "big") + encoded + len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()
