"""The server's repositories, one per area of its database (see ``storage.py``, the facade
that builds them over one database and wires them to one another)."""
