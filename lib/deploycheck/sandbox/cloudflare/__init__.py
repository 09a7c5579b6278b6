"""The Cloudflare v4 emulator: the control plane (:mod:`.control`), the envelope
(:mod:`.envelope`), Pages (:mod:`.projects`, :mod:`.pages`) and Workers (:mod:`.scripts`,
:mod:`.versions`, :mod:`.services`, :mod:`.uploads`).
"""

from __future__ import annotations

from deploycheck.sandbox.cloudflare import assets as _assets
from deploycheck.sandbox.cloudflare import control as _control
from deploycheck.sandbox.cloudflare import envelope as _envelope
from deploycheck.sandbox.cloudflare import pages as _pages
from deploycheck.sandbox.cloudflare import projects as _projects
from deploycheck.sandbox.cloudflare import reads as _reads
from deploycheck.sandbox.cloudflare import scripts as _scripts
from deploycheck.sandbox.cloudflare import services as _services
from deploycheck.sandbox.cloudflare import uploads as _uploads
from deploycheck.sandbox.cloudflare import versions as _versions
from deploycheck.sandbox.cloudflare.assets import *  # noqa: F403
from deploycheck.sandbox.cloudflare.control import *  # noqa: F403
from deploycheck.sandbox.cloudflare.envelope import *  # noqa: F403
from deploycheck.sandbox.cloudflare.pages import *  # noqa: F403
from deploycheck.sandbox.cloudflare.projects import *  # noqa: F403
from deploycheck.sandbox.cloudflare.reads import *  # noqa: F403
from deploycheck.sandbox.cloudflare.scripts import *  # noqa: F403
from deploycheck.sandbox.cloudflare.services import *  # noqa: F403
from deploycheck.sandbox.cloudflare.uploads import *  # noqa: F403
from deploycheck.sandbox.cloudflare.versions import *  # noqa: F403

__all__ = (
    _assets.__all__
    + _control.__all__
    + _envelope.__all__
    + _pages.__all__
    + _projects.__all__
    + _reads.__all__
    + _scripts.__all__
    + _services.__all__
    + _uploads.__all__
    + _versions.__all__
)
