"""``fieldscreen bundle`` on the profile's vault (see :mod:`fieldscreen.sync.commands.bundle`)."""

from fieldscreen.device_commands import wrap
from fieldscreen.sync.commands import bundle as _command

add_arguments, run = wrap(_command)
