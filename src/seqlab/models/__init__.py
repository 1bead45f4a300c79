"""Models, one file per family. Models compute; losses, metrics, files and plots live elsewhere."""
