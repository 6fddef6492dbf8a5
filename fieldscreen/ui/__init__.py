"""The Qt front end. The only package (with ``fieldscreen/app.py``) that imports PySide6."""
