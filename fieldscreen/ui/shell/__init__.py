"""The main window's parts: the screen registry and the controllers the window is a shell over."""
