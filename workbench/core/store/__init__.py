"""The workspace store: one SQLite file per workspace. The database is the state."""

from .workspace import Workspace, default_workspace_path

__all__ = ["Workspace", "default_workspace_path"]
