"""OMO Member Bot: a LINE official account as the front door of one member programme (the Flask app: bot.app)."""
