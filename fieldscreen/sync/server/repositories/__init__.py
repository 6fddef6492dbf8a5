"""The server's repositories, one per area of its database (see ``storage.py``, whose
:class:`Storage` builds them over one database, wires them to one another and holds them)."""
