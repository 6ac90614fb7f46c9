from fink_common.testing import *  # noqa: F403
