"""The workspace: installed models, the active one, the rollback state and the history."""
