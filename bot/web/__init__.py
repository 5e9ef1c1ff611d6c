"""Flask blueprints: thin views that call one service function inside one transaction."""
