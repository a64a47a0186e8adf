"""Dialogs: a server (add/edit with a connection test) and a server's path mappings."""
