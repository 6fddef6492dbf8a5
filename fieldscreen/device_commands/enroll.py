"""``fieldscreen enroll`` on the profile's vault (see :mod:`fieldscreen.sync.commands.enroll`)."""

from fieldscreen.device_commands import wrap
from fieldscreen.sync.commands import enroll as _command

add_arguments, run = wrap(_command)
