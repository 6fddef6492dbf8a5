"""``fieldscreen sync`` on the profile's vault (see :mod:`fieldscreen.sync.commands.sync`)."""

from fieldscreen.device_commands import wrap
from fieldscreen.sync.commands import sync as _command

add_arguments, run = wrap(_command)
