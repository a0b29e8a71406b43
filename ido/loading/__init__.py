"""Load catalogs of YAML resources from files and folders, telling every problem found at once
(checks across a resource's fields wait until its own fields are valid).

`load` holds `load_catalog` and the checks `ido validate` adds; `files` finds the YAML
files; `catalog` the `Catalog` and where its problems are placed; `documents` reads a
file's documents into resources; `words` tells pydantic's errors in words;
`references` checks what resources name; `checks` the conditions and the names they
compare with.
"""

from ido.loading.catalog import Catalog
from ido.loading.checks import KEYS
from ido.loading.load import find_intent, load_catalog, load_documents

__all__ = ["KEYS", "Catalog", "find_intent", "load_catalog", "load_documents"]
